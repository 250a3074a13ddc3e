"""Runners that apply one function to many files: a local process pool today (``local``), a Ray
runner later beside it, with the same ``run(items, fn_spec, jobs, progress)`` interface."""
