"""`nbench run` end to end: records, run keys, determinism, and run == score of the written submission."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from ndt_fixtures import TINY_CONFIG, import_tiny_task

from nbench.cli import main
from nbench.metrics import METRICS
from nbench.results import SCHEMA_VERSION, Record, load_record, load_records
from nbench.runner import RunSpec, run


def _cli(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 0


def test_run_writes_a_valid_record(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _cli(["run", "--task", "lorenz", "--model", "mean_rate", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert "co-bps" in out and "fp-bps" in out and "rate R2 heldin" in out and "record:" in out
    (path,) = list((tmp_path / "lorenz" / "mean_rate").glob("*.json"))
    record = load_record(path)
    assert record.status == "ok" and record.kind == "run" and record.schema_version == SCHEMA_VERSION
    assert record.task == {"name": "lorenz", "version": "1", "phase": "test", "bin_ms": 20.0, "group": "lorenz"}
    assert record.dataset["source"] == "synthetic" and record.dataset["version"].startswith("v1-")
    assert set(record.metrics) >= {"co-bps", "co-bps per neuron", "fp-bps", "rate R2 heldin", "rate R2 heldout"}
    assert record.metrics["co-bps"].higher_is_better and record.metrics["co-bps"].n == 312
    low, high = record.metrics["co-bps"].ci95  # bootstrap over eval trials
    assert low <= record.metrics["co-bps"].value <= high
    assert record.model["fit_info"] == {}
    assert record.cost["peak_mem_mb"] > 0 and record.environment["nbench"] == "0.1.0"
    assert json.loads(path.read_text())["schema_version"] == SCHEMA_VERSION
    assert not list(tmp_path.rglob("*.tmp")), "atomic write leaves no temp files"


def metric_dict(record: Record) -> dict[str, dict]:
    """Every metric of a record with its value, interval and count."""
    return {name: dataclasses.asdict(value) for name, value in record.metrics.items()}


def test_seed_changes_run_key_and_same_seed_reproduces(tmp_path: Path) -> None:
    a = run(RunSpec.create("chaotic_rnn", "mean_rate", seed=0), tmp_path).record
    b = run(RunSpec.create("chaotic_rnn", "mean_rate", seed=0), tmp_path).record
    c = run(RunSpec.create("chaotic_rnn", "mean_rate", seed=1), tmp_path).record
    assert a.run_key == b.run_key != c.run_key and a.run_id != b.run_id
    assert metric_dict(a) == metric_dict(b) == metric_dict(c)  # mean_rate ignores the seed
    assert all(m.ci95 is not None for name, m in a.metrics.items() if METRICS[name].bootstrap_ci)
    assert len(load_records(tmp_path)) == 2  # one record per run key: the rerun replaced the first


@pytest.fixture(scope="module")
def tiny_task_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return import_tiny_task(tmp_path_factory.mktemp("tiny"))


@pytest.mark.parametrize(("model", "overrides"), [
    ("gpfa", {"latent_dim": 2, "em_max_iters": 3, "alpha2": 0.01}),
    ("ndt", {**TINY_CONFIG, "max_epochs": 3, "val_interval": 1, "dropout": 0.2}),
])
def test_seeded_model_reproduces_every_metric_and_another_seed_changes_them(tiny_task_dir: Path, tmp_path: Path,
                                                                            model: str, overrides: dict) -> None:
    def record(seed: int, out: str) -> Record:
        spec = RunSpec.create("tiny", model, seed=seed, overrides=overrides, device="cpu", data_dir=str(tiny_task_dir))
        return run(spec, tmp_path / out).record  # a fresh directory each: NDT must not resume a finished fit

    first, again, other = record(0, "first"), record(0, "again"), record(1, "other")
    assert metric_dict(first) == metric_dict(again)
    assert again.model["fit_info"].get("resumed_from_epoch") is None
    assert set(metric_dict(other)) == set(metric_dict(first))
    for name, value in first.metrics.items():
        assert value.value != other.metrics[name].value, name
        assert value.ci95 is None or value.ci95 != other.metrics[name].ci95, name


def test_phase_and_config_change_run_key(tmp_path: Path) -> None:
    test = run(RunSpec.create("lorenz", "mean_rate"), None).record
    val = run(RunSpec.create("lorenz", "mean_rate", phase="val"), None).record
    assert test.run_key != val.run_key and val.task["phase"] == "val"


def test_scoring_the_written_submission_gives_the_run_numbers(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    sub = tmp_path / "sub.h5"
    _cli(["run", "-t", "chaotic_rnn", "-m", "mean_rate", "--out", str(tmp_path / "run"), "--save-submission",
          str(sub)])
    _cli(["score", str(sub), "--out", str(tmp_path / "score")])
    (run_rec,) = load_records(tmp_path / "run")
    (score_rec,) = load_records(tmp_path / "score")
    assert score_rec.kind == "score" and score_rec.submission["sha256"]
    assert {k: v.value for k, v in run_rec.metrics.items()} == {k: v.value for k, v in score_rec.metrics.items()}


def test_help_for_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["--help"], ["run", "--help"], ["score", "--help"], ["list", "--help"]):
        _cli(argv)
        assert "Usage:" in capsys.readouterr().out


def test_list(capsys: pytest.CaptureFixture[str]) -> None:
    _cli(["list", "tasks"])
    assert "lorenz" in capsys.readouterr().out
    _cli(["list", "metrics"])
    assert "vel R2" in capsys.readouterr().out
