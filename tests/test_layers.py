"""The package's layering, read from the source: nothing imports upward.

Layers, bottom up (a module may import its own layer and the ones below): errors, extras, metrics, text < io,
config, values < data, _builtins (the registry's plain tables) < registry, results, record_schema, submission <
tasks < baselines, validation, provenance < scoring, fitting, tuning < runner, runs < leaderboard, reporting < cli. The
rules the design states outright are checked on their own too: data never imports tasks, metrics import nothing
of nbench but metrics, and the leaderboard never scores (it renders records).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "nbench"
LEVEL = {"errors": 0, "extras": 0, "metrics": 0, "text": 0, "io": 1, "h5chunks": 1, "config": 1, "values": 1,
         "registry": 3, "_builtins": 2, "data": 2, "record_schema": 3, "results": 3, "submission": 3, "tasks": 4,
         "baselines": 5, "testing": 5, "validation": 5, "scoring": 6, "fitting": 6, "provenance": 5, "tuning": 6,
         "runner": 7, "runs": 7, "leaderboard": 8, "reporting": 8, "cli": 9, "__main__": 10}


def _imports(path: Path) -> set[str]:
    """Top-level nbench packages/modules imported by ``path`` (module level and inside functions)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("nbench"):
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names if a.name.startswith("nbench")]
        for name in names:
            parts = name.split(".")
            if len(parts) > 1 and parts[1] in LEVEL:
                found.add(parts[1])
    return found


def _layer(path: Path) -> str:
    return path.relative_to(SRC).parts[0].removesuffix(".py")


FILES = [p for p in sorted(SRC.rglob("*.py")) if _layer(p) in LEVEL]


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(SRC)) for p in FILES])
def test_no_module_imports_upward(path: Path) -> None:
    layer = _layer(path)
    upward = sorted(m for m in _imports(path) if LEVEL[m] > LEVEL[layer])
    assert not upward, f"{path.relative_to(SRC)} ({layer}) imports {upward} from above"


def test_the_stated_rules() -> None:
    for path in (SRC / "data").rglob("*.py"):
        assert "tasks" not in _imports(path), f"{path} imports tasks"
    for path in (SRC / "metrics").rglob("*.py"):
        assert _imports(path) <= {"metrics"}, f"{path} imports {_imports(path) - {'metrics'}}"
    for path in (SRC / "leaderboard").rglob("*.py"):
        assert not _imports(path) & {"scoring", "runner", "fitting"}, f"{path} scores"


def test_every_layer_is_known_and_no_file_is_long() -> None:
    assert {_layer(p) for p in SRC.rglob("*.py")} - {"__init__"} <= set(LEVEL)
    long = [f"{p.relative_to(SRC)} ({n})" for p in SRC.rglob("*.py") if (n := len(p.read_text().splitlines())) > 400]
    assert not long, f"files over 400 lines: {long}"
