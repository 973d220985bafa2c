"""The leaderboard's sweep side: committed predictions scored by CI and labelled so, the origin of every row, the
registered models without a row, exact ties noted, and which records folder a build read."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import pytest
from sweep_fixtures import import_tiny_tasks

from nbench import registry
from nbench.cli import main
from nbench.results import load_records

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


@pytest.fixture(scope="module")
def task(isolated_data_dir: Path) -> str:
    return import_tiny_tasks(isolated_data_dir)[0]


def cli(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    return int(exc.value.code)


def board_of(site: Path, task: str) -> dict:
    results = json.loads((site / "results.json").read_text())
    return next(b for tab in results["tabs"] for b in tab["boards"] if b["task"] == task)


def test_committed_predictions_are_scored_by_ci_and_labelled(task: str, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(f"tasks: [{task}]\nseeds: [0, 1]\nsweeps:\n  - {{models: [mean_rate]}}\n"
                     "  - {models: [smoothing], predictions: preds}\n")
    # a fresh checkout without the files: the slow runs are pending, with their exact file names
    assert cli(["sweep", str(sweep), "--out", str(tmp_path / "early")]) == 0
    assert capsys.readouterr().err.count(f"pending: {task} smoothing seed") == 2
    # trained once elsewhere, files written for the commit
    assert cli(["sweep", str(sweep), "--out", str(tmp_path / "trained"), "--train-committed"]) == 0
    trained = {r.run_key: r for r in load_records(tmp_path / "trained") if r.model["name"] == "smoothing"}
    files = sorted((tmp_path / "preds" / task / "smoothing").iterdir())
    assert [p.name for p in files] == sorted(f"{k}{ext}" for k in trained for ext in (".h5", ".json"))
    with h5py.File(files[0]) as h5:  # only what the task scores: no train rates where nothing is decoded
        assert "eval_rates_heldout" in h5[task] and not [k for k in h5[task] if not k.startswith("eval_rates_")]
    # CI: a fresh folder; the fast runs are trained, the committed predictions scored
    assert cli(["sweep", str(sweep), "--out", str(tmp_path / "ci")]) == 0
    ci = {r.run_key: r for r in load_records(tmp_path / "ci")}
    for key, record in trained.items():
        scored = ci[key]
        assert scored.kind == "score" and scored.submission["path"] == f"{key}.h5"
        assert {k: v.value for k, v in scored.metrics.items()} == {k: v.value for k, v in record.metrics.items()}
        assert scored.model == record.model and scored.cost == record.cost and scored.seed == record.seed
    assert cli(["leaderboard", "build", "--records", str(tmp_path / "ci"), "--out", str(tmp_path / "site")]) == 0
    board = board_of(tmp_path / "site", task)
    origins = {row["model"]: (row["origin"], row["origin_label"]) for row in board["rows"].values()}
    assert origins == {"mean_rate": ("trained", "trained and scored by CI"),
                       "smoothing": ("rescored", "scored by CI from committed predictions")}
    # every registered model is named: with a row, without one yet, or unable to run on the task (and why)
    assert board["unsupported_models"] == {"poyo": f"model 'poyo' produces behavior; task {task!r} scores rates"}
    assert board["missing_models"] == sorted(set(registry.names("models")) - {"mean_rate", "smoothing", "poyo"})
    # mean_rate and smoothing share the classic forward rule: their forward table says so
    forward = next(t for t in board["tables"] if t["family"] == "forward prediction")
    assert "mean_rate, smoothing" in forward["note"] and "share one forward rule" in forward["note"]
    assert next(t for t in board["tables"] if t["family"] == "co-smoothing")["note"] is None


def test_tampered_committed_record_fails_its_run_in_one_line(task: str, tmp_path: Path) -> None:
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(f"tasks: [{task}]\nmodels: [smoothing]\npredictions: preds\n")
    assert cli(["sweep", str(sweep), "--out", str(tmp_path / "trained"), "--train-committed"]) == 0
    (record_file,) = (tmp_path / "preds" / task / "smoothing").glob("*.json")
    record_file.write_text(record_file.read_text().replace('"seed": 0', '"seed": 5'))
    assert cli(["sweep", str(sweep), "--out", str(tmp_path / "ci")]) == 1
    (failed,) = load_records(tmp_path / "ci")
    assert failed.status == "error" and failed.error == f"{record_file}: key 'seed' expected 0 (the sweep's run), got 5"


def test_build_reads_nbench_results_when_there_is_no_leaderboard_folder(task: str, tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert cli(["run", "-t", task, "-m", "mean_rate"]) == 0
    capsys.readouterr()
    assert cli(["leaderboard", "build", "--out", "site"]) == 0
    captured = capsys.readouterr()
    assert "records: reading nbench-results/" in captured.err and "1 rows from 1 records" in captured.out
    (tmp_path / "leaderboard" / "records").mkdir(parents=True)
    assert cli(["leaderboard", "build", "--out", "site"]) == 0
    assert "records: reading leaderboard/records/" in capsys.readouterr().err
