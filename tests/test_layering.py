"""Imports point downward: the architecture in docs/ARCHITECTURE.md, enforced.

Each rule is keyed by a module's top-level name under ``src/avts`` (a package such as ``sync``
or a module such as ``api``). Rules for planned packages (``sync``, ``downstream``, ``engines``,
``device``) hold already: the test simply finds no files there yet.
"""

import ast
import sys
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "src" / "avts"

_EVERY_PACKAGE = ("avts.media", "avts.features", "avts.synth", "avts.data", "avts.models",
                  "avts.losses", "avts.device", "avts.sync", "avts.eval", "avts.train",
                  "avts.downstream", "avts.engines", "avts.report", "avts.api", "avts.cli",
                  "avts.checkpoint")

# top-level name -> modules it must not import (a package's name covers its submodules)
FORBIDDEN = {
    # The bottom layer: no torch (avts --help and config validation stay light).
    "errors": ["avts.config", "avts.types", *_EVERY_PACKAGE, "torch"],
    "types": ["avts.config", *_EVERY_PACKAGE, "torch"],
    "config": ["avts.types", *_EVERY_PACKAGE, "torch"],
    # Device choice (cpu/cuda/mps) is a leaf that models, training and tools share.
    "device": [m for m in _EVERY_PACKAGE if m != "avts.device"],
    # Checkpoint files (format, safe loading): below everything that builds or runs networks.
    "checkpoint": [m for m in _EVERY_PACKAGE if m != "avts.checkpoint"],
    # PyAV and numpy only.
    "media": [m for m in _EVERY_PACKAGE if m != "avts.media"] + ["torch"],
    # Pure array functions: they neither decode files nor know about datasets or models.
    "features": [m for m in _EVERY_PACKAGE if m != "avts.features"],
    # A generator of data: numpy plus media.write, nothing of the loader or the models.
    "synth": [m for m in _EVERY_PACKAGE if m not in ("avts.synth", "avts.media")] + ["torch"],
    # The loader: the synthetic world is not part of it (tests and demos call synth directly).
    "data": ["avts.synth", "avts.models", "avts.losses", "avts.sync", "avts.eval", "avts.train",
             "avts.downstream", "avts.engines", "avts.report", "avts.api", "avts.cli"],
    # Networks and losses are torch only; models/build.py may build the scorer from losses
    # (so losses never import models).
    "models": ["avts.media", "avts.synth", "avts.data", "avts.sync", "avts.eval", "avts.train",
               "avts.downstream", "avts.engines", "avts.report", "avts.api", "avts.cli"],
    "losses": ["avts.media", "avts.features", "avts.synth", "avts.data", "avts.models",
               "avts.sync", "avts.eval", "avts.train", "avts.downstream", "avts.engines",
               "avts.report", "avts.api", "avts.cli"],
    # The offset tool's core (windows, aggregation, verdict, drift) uses models, features and
    # media; it holds no CLI code and knows nothing of the training corpus or loop.
    "sync": ["avts.synth", "avts.data", "avts.eval", "avts.train", "avts.downstream",
             "avts.engines", "avts.report", "avts.api", "avts.cli"],
    # Evaluation (sync accuracy, bench-sync) measures; training calls it, never the reverse.
    "eval": ["avts.train", "avts.downstream", "avts.engines", "avts.report", "avts.api",
             "avts.cli"],
    "train": ["avts.synth", "avts.downstream", "avts.engines", "avts.api", "avts.cli"],
    # Embeddings, probes and fine-tuning: the one package besides api that may use train/.
    "downstream": ["avts.engines", "avts.api", "avts.cli"],
    # Local pool and Ray runners for prepare and scan.
    "engines": ["avts.api", "avts.cli"],
    "api": ["avts.cli"],
    # The CLI parses, calls avts.api, formats and maps errors; torch only lazily through api.
    "cli": ["avts.media", "avts.features", "avts.synth", "avts.data", "avts.models",
            "avts.losses", "avts.device", "avts.sync", "avts.eval", "avts.train",
            "avts.downstream", "avts.engines", "avts.report", "torch"],
}

# module -> the only top-level names that may import it
IMPORTED_ONLY_BY = {
    "avts.train": ("train", "downstream", "api"),  # nothing else reaches into the training loop
    "avts.api": ("cli", "__init__"),  # the package root re-exports it lazily
    "avts.cli": ("__main__",),
    "argparse": ("cli",),  # library code never parses a command line
}

# report/ draws plots and the HTML page from results only.
REPORT_MAY_IMPORT = ("avts.types", "avts.report", "matplotlib", "numpy")

# Known violations to be fixed, as (file relative to src/avts, imported module); each with a
# TODO saying who moves what. Empty: keep it that way.
ALLOWED_FOR_NOW: set[tuple[str, str]] = set()


def _imports(source: str, package: str) -> set[str]:
    """Absolute names of every module ``source`` imports, at top level or lazily in a function.

    ``from a.b import c`` yields ``a.b`` and ``a.b.c`` (``c`` may be a submodule); relative
    imports are resolved against ``package`` (the file's package, e.g. ``avts.data``).
    """
    parts = package.split(".")
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = parts[: len(parts) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            names.add(module)
            names.update(f"{module}.{a.name}" for a in node.names)
    return names


def _modules() -> list[tuple[str, Path]]:
    """(top-level name, path relative to src/avts) of every module of the package."""
    rels = [p.relative_to(PKG) for p in sorted(PKG.rglob("*.py"))]
    return [(rel.with_suffix("").parts[0], rel) for rel in rels]


def _package(rel: Path) -> str:
    return ".".join(["avts", *rel.parent.parts])


def _matches(name: str, banned: str) -> bool:
    return name == banned or name.startswith(banned + ".")


def _violations(top: str, names: set[str]) -> list[str]:
    """Each import in ``names`` that breaks a rule for ``top``, with the rule it breaks."""
    bad = [f"{n} (forbidden in {top})" for n in names for b in FORBIDDEN.get(top, [])
           if _matches(n, b)]
    bad += [f"{n} (only {', '.join(who)} may import {m})" for n in names
            for m, who in IMPORTED_ONLY_BY.items() if _matches(n, m) and top not in who]
    if top.startswith("_") and not top.startswith("__"):  # _atomic, _serialize: leaf helpers
        bad += [f"{n} (avts._* helpers import no avts module but errors)" for n in names
                if n.startswith("avts.") and not _matches(n, "avts.errors")]
    if top == "report":
        bad += [f"{n} (report imports only {', '.join(REPORT_MAY_IMPORT)} and the standard "
                "library)" for n in names if n.split(".")[0] not in sys.stdlib_module_names
                and not any(_matches(n, ok) for ok in REPORT_MAY_IMPORT)]
    return sorted(set(bad))


@pytest.mark.parametrize("top,rel", _modules(), ids=lambda v: str(v))
def test_imports_point_downward(top, rel):
    names = _imports((PKG / rel).read_text(), _package(rel))
    bad = [b for b in _violations(top, names) if (str(rel), b.split(" ")[0]) not in ALLOWED_FOR_NOW]
    assert not bad, f"{rel} imports {bad}"


def test_the_rules_see_relative_lazy_and_submodule_imports():
    source = "from .. import synth\ndef f():\n    from avts import train\n    import argparse\n"
    names = _imports(source, "avts.data")
    assert {"avts.synth", "avts.train", "argparse"} <= names
    bad = _violations("data", names)
    assert "avts.synth (forbidden in data)" in bad
    assert "avts.train (only train, downstream, api may import avts.train)" in bad
    assert "argparse (only cli may import argparse)" in bad
    assert _violations("report", {"torch", "json", "matplotlib.pyplot", "avts.types"}) == [
        "torch (report imports only avts.types, avts.report, matplotlib, numpy and the standard "
        "library)"]


def test_allow_list_entries_are_still_needed():
    found = {(str(rel), name) for _, rel in _modules()
             for name in _imports((PKG / rel).read_text(), _package(rel))}
    stale = ALLOWED_FOR_NOW - found
    assert not stale, f"remove fixed entries from ALLOWED_FOR_NOW: {sorted(stale)}"


def test_cli_help_does_not_import_torch():
    import subprocess

    code = "import sys, avts.cli; avts.cli.build_parser(); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
