"""`nbench run --model ndt` end to end (on a small imported task): the record carries the fit summary; a bad device
is a one-line error."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from ndt_fixtures import import_tiny_task

from nbench.baselines.ndt.train import CHECKPOINT_NAME
from nbench.cli import main
from nbench.results import load_record

SHORT = ["--set", "max_epochs=2", "--set", "val_interval=1", "--set", "num_layers=1"]


def _run(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    return int(exc.value.code or 0)


def test_run_records_fit_info_and_resumes_nothing_twice(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data_dir = import_tiny_task(tmp_path)
    argv = ["run", "--task", "tiny", "--model", "ndt", "--device", "cpu", "--data-dir", str(data_dir), "--out",
            str(tmp_path / "runs"), *SHORT]
    assert _run(argv) == 0
    assert "co-bps" in capsys.readouterr().out
    (path,) = list((tmp_path / "runs" / "tiny" / "ndt").glob("*.json"))
    record = load_record(path)
    info = record.model["fit_info"]
    assert info["epochs"] == 2 and info["device"] == "cpu"
    # The recorded best epoch and NLL are those of the training history kept in the run's checkpoint.
    state = torch.load(tmp_path / "runs" / "work" / record.run_key / CHECKPOINT_NAME, weights_only=True)
    val = {int(epoch): nll for epoch, _, nll in state["history"] if nll is not None}
    assert sorted(val) == [1, 2] and info["best_epoch"] == min(val, key=val.get)
    assert info["best_masked_val_nll"] == min(val.values())
    assert info["resumed_from_epoch"] is None and info["train_seconds"] > 0
    # The finished fit's checkpoint is found again: the same command does not train a second time (and its
    # record replaces the first: one record per run key).
    assert _run(argv) == 0
    (again,) = list((tmp_path / "runs" / "tiny" / "ndt").glob("*.json"))
    assert again == path and load_record(again).model["fit_info"]["resumed_from_epoch"] == 2


def test_unavailable_device_is_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # the same on a machine with CUDA
    code = _run(["run", "--task", "lorenz", "--model", "ndt", "--device", "cuda", "--out", str(tmp_path), *SHORT])
    err = capsys.readouterr().err
    assert code == 2
    assert "CUDA is not available" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not list(tmp_path.rglob("*.json"))


def test_item13_damaged_checkpoint_then_fresh(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A damaged checkpoint is one line naming --fresh; --fresh deletes the run's work files and fits anew."""
    argv = ["run", "--task", "lorenz", "--model", "ndt", "--device", "cpu", "--out", str(tmp_path), *SHORT]
    assert _run(argv) == 0
    (checkpoint,) = (tmp_path / "work").glob("*/ndt_checkpoint.pt")
    checkpoint.write_bytes(checkpoint.read_bytes()[:100])
    capsys.readouterr()
    assert _run(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0].startswith("fitting ndt on lorenz") and len(err) == 2 and "Traceback" not in err
    assert err[1].startswith(f"error: {checkpoint}: cannot resume") and "--fresh" in err[1]
    assert _run([*argv, "--fresh"]) == 0
    (path,) = (tmp_path / "lorenz" / "ndt").glob("*.json")  # one record per run key: the refit replaced it
    record = load_record(path)
    assert record.status == "ok" and record.model["fit_info"]["resumed_from_epoch"] is None


@pytest.mark.parametrize(("requested", "expected"), [(None, 2), ("1", 1)])
def test_run_uses_the_declared_threads_unless_the_user_sets_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, requested: str | None, expected: int) -> None:
    """NDT declares 2 threads; a user's NBENCH_NUM_THREADS (1 on a shared machine) wins over it."""
    if requested is None:
        monkeypatch.delenv("NBENCH_NUM_THREADS", raising=False)
    else:
        monkeypatch.setenv("NBENCH_NUM_THREADS", requested)
    data_dir = import_tiny_task(tmp_path)
    argv = ["run", "--task", "tiny", "--model", "ndt", "--device", "cpu", "--data-dir", str(data_dir), "--out",
            str(tmp_path / "runs"), *SHORT]
    assert _run(argv) == 0
    (path,) = list((tmp_path / "runs" / "tiny" / "ndt").glob("*.json"))
    assert load_record(path).model["fit_info"]["torch_threads"] == expected
    assert os.environ.get("NBENCH_NUM_THREADS") == requested, "the setting is restored after the run"
