"""The light install: scoring never imports an optional package, and a missing extra is one line naming the
``pip install`` that adds it. Each command runs in a fresh interpreter whose import system refuses the optional
packages (and reports every attempt on stderr, even one that the code would catch)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

OPTIONAL = ("torch", "elephant", "dandi", "dandischema", "requests", "matplotlib", "pynwb", "ray")
BLOCKER = """
import os, sys

class Refuse:
    blocked = set(os.environ["NBENCH_TEST_BLOCK"].split(","))

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in self.blocked:
            sys.stderr.write(f"BLOCKED IMPORT {name}\\n")
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, Refuse())
from nbench.cli import main
main(sys.argv[1:])
"""


def nbench(args: list[str], cwd: Path, data_dir: Path, blocked: tuple[str, ...] = OPTIONAL
           ) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NBENCH_TEST_BLOCK": ",".join(blocked), "NBENCH_DATA_DIR": str(data_dir)}
    return subprocess.run([sys.executable, "-c", BLOCKER, *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=600)


def test_scoring_a_lorenz_submission_imports_no_optional_package(tmp_path: Path, isolated_data_dir: Path) -> None:
    steps = [["run", "-t", "lorenz", "-m", "smoothing", "--save-submission", "sub.h5", "--out", "runs"],
             ["score", "sub.h5", "--task", "lorenz", "--out", "scores"],
             ["compare", "runs", "scores"],
             ["data", "export", "lorenz"],
             ["list", "models"], ["list", "tasks"], ["data", "list"]]
    for args in steps:
        done = nbench(args, tmp_path, isolated_data_dir)
        assert done.returncode == 0, f"{args}: {done.stderr[-2000:]}"
        assert "BLOCKED IMPORT" not in done.stderr, f"{args} tried to import: {done.stderr}"
    assert "co-bps" in nbench(["score", "sub.h5", "--out", "scores"], tmp_path, isolated_data_dir).stdout


@pytest.mark.parametrize(("args", "missing", "extra"), [
    (["run", "-t", "lorenz", "-m", "ndt"], "torch", "ndt"),
    (["run", "-t", "multi_region_cosmooth", "-m", "mtm"], "torch", "ndt"),
    (["run", "-t", "lorenz", "-m", "gpfa"], "elephant", "gpfa"),
    (["data", "fetch", "mc_maze_small"], "dandi", "dandi"),
    (["run", "-t", "lorenz", "-m", "mean_rate", "--report", "rep"], "matplotlib", "plots"),
    (["leaderboard", "build", "--out", "site"], "matplotlib", "plots"),
], ids=["ndt", "mtm", "gpfa", "fetch", "run-report", "leaderboard"])
def test_a_missing_extra_is_one_line_naming_the_install(args: list[str], missing: str, extra: str, tmp_path: Path,
                                                        isolated_data_dir: Path) -> None:
    done = nbench(args, tmp_path, isolated_data_dir)
    errors = [line for line in done.stderr.splitlines() if not line.startswith("BLOCKED IMPORT")]
    assert done.returncode == 2, done.stderr
    assert len(errors) == 1 and errors[0].startswith("error: ") and "Traceback" not in done.stderr
    assert f"needs {missing}, which is not installed; run: pip install \"nbench[{extra}]\"" in errors[0]
    assert "fitting" not in done.stderr  # refused before any data work
