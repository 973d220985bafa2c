"""The documentation's examples run as written: the README's Python API, the bring-your-own-model page, and the
tensor-import example of docs/data.md (which must get the MC_Maze_Small presets)."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from nbench.cli import main
from nbench.results import load_records

ROOT = Path(__file__).resolve().parents[1]


def code_blocks(path: Path, language: str, section: str | None = None) -> list[str]:
    """The ``language`` fenced blocks of a Markdown file, in order (only under heading ``section`` if given)."""
    text = path.read_text()
    if section is not None:
        start = text.index(f"\n{section}\n")
        level = section.split(" ")[0]
        end = re.search(rf"\n#{{1,{len(level)}}} ", text[start + 1:])
        text = text[start: start + 1 + end.start()] if end else text[start:]
    return re.findall(rf"```{language}\n(.*?)```", text, flags=re.S)


def _run_python(code: str, cwd: Path, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NBENCH_DATA_DIR": str(data_dir)}
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=900)


def test_the_readme_python_api_example_runs_as_written(tmp_path: Path, isolated_data_dir: Path) -> None:
    [code] = code_blocks(ROOT / "README.md", "python", "## Python API")
    done = _run_python(code, tmp_path, isolated_data_dir)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "co-bps" in done.stdout and "is better" in done.stdout
    [record] = load_records(tmp_path / "nbench-results")
    assert record.model["name"] == "smoothing" and record.task["name"] == "lorenz"


def test_the_bring_your_own_model_page_runs_as_written(tmp_path: Path, isolated_data_dir: Path) -> None:
    blocks = code_blocks(ROOT / "docs" / "byom.md", "python")
    assert len(blocks) >= 4
    done = _run_python("\n".join(blocks), tmp_path, isolated_data_dir)
    assert done.returncode == 0, done.stderr[-3000:]
    [record] = load_records(tmp_path / "nbench-results")
    assert record.model["name"] == "smooth_ridge" and record.model["origin"] == "__main__"
    assert record.model["config"] == {"sigma_bins": 3.0, "alpha": 10.0}
    assert record.metrics["co-bps"].value > 0.5 and "fp-bps" not in record.metrics  # no forward predictions
    assert "co-bps: " in done.stdout and (tmp_path / "my_rates.h5").is_file()


def test_the_import_example_gets_the_mc_maze_small_presets(tmp_path: Path, shared_data: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    """docs/data.md imports an nlb_tools val extract with --like; smoothing then uses NLB's MC_Maze_Small
    settings and scores co-bps 0.1174 (generic defaults score -0.20 on the same file)."""
    [block] = code_blocks(ROOT / "docs" / "data.md", "console", "## Importing nlb_tools tensor files: "
                          "`nbench data import FILE --name NAME [--like DATASET] [--bin-ms MS] [--force]`")
    commands = [shlex.split(line.removeprefix("$ ")) for line in block.splitlines() if line.startswith("$ nbench")]
    source = shared_data / "nlb_mc_maze_small" / "mc_maze_small_val_5ms.h5"
    data = ["--data-dir", str(tmp_path / "data")]
    for argv in commands[:2]:  # import, then run (the third line scores a file of the reader's own)
        argv = [str(source) if a == "mc_maze_small_val_5ms.h5" else a for a in argv[1:]]
        with pytest.raises(SystemExit) as exc:
            main([*argv, *data] + (["--out", str(tmp_path / "runs"), "--json"] if argv[0] == "run" else []))
        assert exc.value.code == 0
    captured = capsys.readouterr()
    assert "no preset" not in captured.err and "generic defaults" not in captured.err
    record = json.loads(captured.out[captured.out.index("{"):])["record"]
    assert (record["model"]["config"]["kern_sd_ms"], record["model"]["config"]["alpha"]) == (60.0, 0.1)
    assert record["metrics"]["co-bps"]["value"] == pytest.approx(0.1174, abs=5e-4)
