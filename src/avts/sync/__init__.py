"""Offset search: windows across a file, per-window score curves over audio shifts, their
aggregation, confidence, verdict and drift. No CLI code; ``avts.api.detect_offset`` is the
public entry point."""
