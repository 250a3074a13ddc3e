"""Imports point downward: the architecture in docs/ARCHITECTURE.md, enforced."""

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "src" / "avts"

# module prefix -> avts modules it must not import
FORBIDDEN = {
    "media": ["avts.features", "avts.data", "avts.models", "avts.losses", "avts.train",
              "avts.eval", "avts.api", "avts.cli", "torch"],
    "features": ["avts.data", "avts.models", "avts.train", "avts.eval", "avts.api", "avts.cli"],
    "models": ["avts.media", "avts.data", "avts.train", "avts.eval", "avts.api", "avts.cli"],
    "losses": ["avts.media", "avts.data", "avts.train", "avts.eval", "avts.api", "avts.cli"],
    "data": ["avts.models", "avts.losses", "avts.train", "avts.eval", "avts.api", "avts.cli"],
    "report": ["avts.media", "avts.data", "avts.models", "avts.train", "avts.eval",
               "avts.api", "avts.cli", "torch"],
    "sync": ["avts.data", "avts.train", "avts.eval", "avts.api", "avts.cli"],
    "cli": ["avts.media", "avts.data", "avts.models", "avts.losses", "avts.train",
            "avts.eval", "torch"],
}


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def _modules():
    for path in sorted(PKG.rglob("*.py")):
        rel = path.relative_to(PKG).with_suffix("")
        yield rel.parts[0], path


@pytest.mark.parametrize("top,path", list(_modules()), ids=lambda v: str(v))
def test_imports_point_downward(top, path):
    banned = FORBIDDEN.get(top, [])
    bad = [m for m in _imports(path) for b in banned if m == b or m.startswith(b + ".")]
    assert not bad, f"{path.relative_to(PKG)} imports {bad}"


def test_cli_help_does_not_import_torch():
    import subprocess
    import sys

    code = "import sys, avts.cli; avts.cli.build_parser(); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
