"""Recorded spike times of NLB tasks: the held-in units' spikes inside the windows the input tensors are built on.

Binned back at the task's bin width, the times give the built counts exactly (every layout, both phases, both
bin widths), and they reach a model through ``Task.build(spike_times=True)``, from the NWB files and from the
cache alike.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from fixtures.nlb_nwb import DANDI_DIRS, KINDS, NLB_NAMES, fixture_data_dir, fixture_files

from nbench.data.nlb import PARAMS, load_recording
from nbench.data.recording import TrialSpikes
from nbench.tasks.nlb import NLBTask, build_arrays


def binned(times: TrialSpikes, shape: tuple[int, ...], bin_ms: float) -> np.ndarray:
    out = np.zeros(shape)
    np.add.at(out, (times.trial, (times.time_ms // bin_ms).astype(np.int64), times.unit), 1)
    return out


def assert_bins_to(times: TrialSpikes, counts: np.ndarray, bin_ms: float) -> None:
    observed = np.isfinite(counts)
    back = binned(times, counts.shape, bin_ms)
    np.testing.assert_array_equal(back[observed], counts[observed])
    assert not back[~observed].any()  # unobserved bins hold no events
    assert np.array_equal(times.time_ms, np.round(times.time_ms))  # the 1 ms grid of the NWB reader
    assert np.all(np.diff(times.trial) >= 0) and not times.jittered
    same_trial = np.diff(times.trial) == 0
    assert np.all(np.diff(times.time_ms)[same_trial] >= 0)


@pytest.mark.parametrize("phase", ["val", "test"])
@pytest.mark.parametrize("bin_ms", [5, 20])
@pytest.mark.parametrize("kind", KINDS)
def test_times_bin_back_to_the_built_counts(kind: str, bin_ms: int, phase: str) -> None:
    files = fixture_files(kind)
    paths = [files["train"]] if phase == "val" else [files["test"], files["train"]]
    arrays = build_arrays(PARAMS[NLB_NAMES[kind]], load_recording(paths), phase, bin_ms, kind)
    for split, key in (("train", "train_spikes_heldin"), ("eval", "eval_spikes_heldin")):
        times, counts = arrays.spike_times[split], arrays.inputs[key]
        assert len(times) == np.nansum(counts) > 0
        assert_bins_to(times, counts, bin_ms)


def test_unobserved_bins_have_no_events() -> None:
    """Eval windows keep unobserved bins (NaN counts); hide 100 ms before the first val trial's movement onset."""
    rec = load_recording([fixture_files("maze")["train"]])
    first_val = int(np.flatnonzero(rec.trials["split"] == "val")[0])
    onset_ms = int(rec.trials["move_onset_time"][first_val] // 1_000_000)
    rec.block("heldin").observed[onset_ms - 100:onset_ms] = False
    arrays = build_arrays(PARAMS["mc_maze_small"], rec, "val", 5, "maze", with_targets=False)
    counts = arrays.inputs["eval_spikes_heldin"]
    assert np.isnan(counts[0]).any() and not np.isnan(counts[1:]).any()
    assert_bins_to(arrays.spike_times["eval"], counts, 5)


def test_the_task_gives_recorded_times_from_files_and_cache(tmp_path: Path) -> None:
    shutil.copytree(fixture_data_dir() / "dandi" / DANDI_DIRS["maze"], tmp_path / "dandi" / DANDI_DIRS["maze"])
    task = NLBTask("mc_maze_small", 20, data_dir=tmp_path)
    assert task.info.spike_times == "recorded"
    plain = task.build("val").views[0].inputs
    assert plain.train_spike_times is None and plain.eval_spike_times is None
    for _ in range(2):  # built from the NWB file (and cached), then read from the cache
        inputs = task.build("val", spike_times=True).views[0].inputs
        assert_bins_to(inputs.train_spike_times, inputs.train_spikes_heldin, 20)
        assert_bins_to(inputs.eval_spike_times, inputs.eval_spikes_heldin, 20)
    assert len(list((tmp_path / "cache" / "nlb").glob("*.h5"))) == 1
