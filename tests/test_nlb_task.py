"""NLB tasks end to end on synthetic NWB files laid out as ``nbench data fetch`` lays them out."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest
from fixtures.nlb_nwb import DANDI_DIRS, fixture_data_dir

from nbench import registry
from nbench.cli import main
from nbench.errors import DataError
from nbench.metrics.poisson import bits_per_spike
from nbench.results import load_records
from nbench.tasks.nlb import NLBTask
from nbench.tasks.nlb import cache as source

DATASETS = ("mc_maze", "mc_rtt", "area2_bump", "dmfc_rsg", "mc_maze_large", "mc_maze_medium", "mc_maze_small")


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A private data directory holding the maze (as MC_Maze_Small) and DMFC fixture files."""
    for kind in ("maze", "dmfc"):
        shutil.copytree(fixture_data_dir() / "dandi" / DANDI_DIRS[kind], tmp_path / "dandi" / DANDI_DIRS[kind])
    return tmp_path


def test_every_nlb_dataset_is_registered_at_5_and_20_ms() -> None:
    names = registry.names("tasks")
    for dataset in DATASETS:
        for name, bin_ms in ((dataset, 5), (f"{dataset}_20", 20)):
            assert name in names
            task = registry.get("tasks", name)()
            assert (task.info.name, task.info.dataset, task.info.bin_ms) == (name, dataset, bin_ms)
            assert task.info.phases == ("val", "test") and task.info.main_metric == "co-bps"


def test_val_phase_inputs_and_targets(data_dir: Path) -> None:
    inputs, targets = NLBTask("mc_maze_small", 20, data_dir=data_dir).prepare("val")
    assert inputs.group == targets.group == "mc_maze_small_20" and inputs.phase == "val"
    assert inputs.train_spikes_heldin.shape[1:] == (35, 12) and inputs.train_spikes_heldout.shape[2] == 4
    assert inputs.forward_bins == 10 and inputs.train_behavior.shape == (inputs.n_train, 35, 2)
    assert targets.eval_spikes_heldout.shape == (inputs.n_eval, 35, 4)
    assert targets.psth.shape[1:] == (35, 16) and len(targets.eval_cond_idx) == targets.psth.shape[0]
    assert set(inputs.regions_heldin) <= {"PMd", "M1"} and inputs.train_conditions.min() >= 0
    assert inputs.dataset_info["source"] == "DANDI:000140/0.220113.0408"
    assert list(inputs.dataset_info["sha256"]) == ["sub-Jenkins_ses-small_desc-train_behavior+ecephys.nwb"]
    assert np.all(np.isin(np.concatenate(targets.eval_cond_idx), np.arange(inputs.n_eval)))


def test_second_prepare_reads_the_cache_and_a_changed_file_rebuilds(data_dir: Path, monkeypatch) -> None:
    first, first_targets = NLBTask("dmfc_rsg", data_dir=data_dir).prepare("val")
    (cache,) = (data_dir / "cache" / "nlb").glob("dmfc_rsg-val-*.h5")

    def no_build(*args, **kwargs):
        raise AssertionError("built again although cached")

    monkeypatch.setattr(source, "build_arrays", no_build)
    again, again_targets = NLBTask("dmfc_rsg", data_dir=data_dir).prepare("val")
    for key in ("train_spikes_heldin", "eval_spikes_heldin", "train_behavior", "train_spikes_heldout_forward"):
        np.testing.assert_array_equal(getattr(again, key), getattr(first, key))
    np.testing.assert_array_equal(again_targets.eval_spikes_heldout, first_targets.eval_spikes_heldout)
    np.testing.assert_array_equal(again_targets.eval_jitter, first_targets.eval_jitter)
    for a, b in zip(again_targets.eval_cond_idx, first_targets.eval_cond_idx, strict=True):
        np.testing.assert_array_equal(a, b)
    train = next((data_dir / "dandi").rglob("sub-Haydn_desc-train_ecephys.nwb"))
    os.utime(train, ns=(train.stat().st_atime_ns, train.stat().st_mtime_ns + 10**9))
    with pytest.raises(AssertionError, match="built again"):
        NLBTask("dmfc_rsg", data_dir=data_dir).prepare("val")
    assert not list(data_dir.rglob("*.tmp")) and cache.exists()


def _write_targets(path: Path, group: str, n_eval: int, n_bins: int, n_heldout: int) -> None:
    rng = np.random.default_rng(0)
    with h5py.File(path, "w") as h5:
        g = h5.create_group(group)
        g["eval_spikes_heldout"] = rng.poisson(0.1, (n_eval, n_bins, n_heldout)).astype(np.float32)
        g["train_behavior"] = rng.normal(size=(5, n_bins, 2))
        g["eval_behavior"] = rng.normal(size=(n_eval, n_bins, 2))
        cond = g.create_dataset("eval_cond_idx", (2,), dtype=h5py.vlen_dtype(np.int32))
        cond[0], cond[1] = np.arange(3), np.arange(3, n_eval)


def test_test_phase_uses_the_public_target_file(data_dir: Path) -> None:
    (data_dir / "nlb").mkdir()
    _write_targets(data_dir / "nlb" / "eval_data_test.h5", "mc_maze_small", 10, 140, 4)
    inputs, targets = NLBTask("mc_maze_small", data_dir=data_dir).prepare("test")
    assert inputs.phase == "test" and inputs.n_eval == 10 and inputs.eval_spikes_heldin.shape == (10, 140, 12)
    assert inputs.n_train == 40, "train + val trials of the train file"
    assert targets.eval_spikes_heldout.shape == (10, 140, 4) and len(targets.eval_cond_idx) == 2
    other = data_dir / "other.h5"
    _write_targets(other, "mc_maze_small", 7, 140, 4)
    with pytest.raises(DataError, match="7 eval trials x 4 held-out units, the NWB inputs 10 x 4"):
        NLBTask("mc_maze_small", data_dir=data_dir, targets_path=other).prepare("test")


def test_missing_files_name_the_command(tmp_path: Path, data_dir: Path) -> None:
    with pytest.raises(DataError, match=r"run `nbench data fetch mc_maze --data-dir .*` first"):
        NLBTask("mc_maze", data_dir=tmp_path).prepare("val")
    with pytest.raises(DataError, match=r"desc-test_ecephys.nwb not found; run `nbench data fetch mc_rtt"):
        NLBTask("mc_rtt", 20, data_dir=tmp_path).prepare("test")
    with pytest.raises(DataError, match=r"run `nbench data fetch --test-targets --data-dir .*` first"):
        NLBTask("mc_maze_small", 20, data_dir=data_dir).prepare("test")


def test_cli_run_on_nlb_task(data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["run", "--task", "mc_maze_small", "--model", "mean_rate", "--phase", "val", "--data-dir",
              str(data_dir), "--out", str(tmp_path / "records")])
    assert exc.value.code == 0
    (record,) = load_records(tmp_path / "records")
    # The recorded and printed co-bps are those of each held-out neuron's training mean, computed here.
    inputs, targets = NLBTask("mc_maze_small", data_dir=data_dir).prepare("val")
    truth = targets.eval_spikes_heldout
    expected = bits_per_spike(np.broadcast_to(np.nanmean(inputs.train_spikes_heldout, axis=(0, 1)), truth.shape),
                              truth)
    assert record.metrics["co-bps"].value == pytest.approx(expected, rel=1e-6)
    assert re.search(rf"co-bps\W+{expected:.4f}", capsys.readouterr().out)
    with pytest.raises(SystemExit) as exc:
        main(["run", "--task", "mc_rtt", "--model", "mean_rate", "--data-dir", str(data_dir), "--out",
              str(tmp_path / "missing")])
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert exc.value.code == 2 and error.startswith("error: mc_rtt: ") and "nbench data fetch mc_rtt" in error
    assert not list((tmp_path / "missing").rglob("*.json"))  # a missing dataset leaves no failure record
