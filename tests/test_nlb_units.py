"""Building blocks of the NLB builder against their definitions: pandas times, scipy decimation, smoothing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.signal
from fixtures.nlb_nwb import NLB_NAMES, fixture_files

from nbench.data.nlb import PARAMS, load_recording
from nbench.data.nlb.params import Window
from nbench.data.nlb.timeconv import seconds_to_ns
from nbench.data.recording import SpikeBlock
from nbench.tasks.nlb.behavior import decimated_runs
from nbench.tasks.nlb.binning import counts_at
from nbench.tasks.nlb.smoothing import TrialSet, condition_sums, gaussian_window
from nbench.tasks.nlb.windows import trial_rows


def test_seconds_to_ns_is_pandas_to_timedelta() -> None:
    rng = np.random.default_rng(0)
    values = np.concatenate([rng.uniform(-5, 1e4, 20000), np.round(rng.uniform(0, 1e4, 20000), 3),
                             np.arange(0, 3e4, 0.1), [np.nan, 0.0, -0.0004]])
    np.testing.assert_array_equal(seconds_to_ns(values), pd.to_timedelta(values, unit="s").asi8)


def test_grid_times_fast_path_is_pandas() -> None:
    """Sample times equal to the double k/1000 are k ms to the nanosecond in pandas (the reader's fast path)."""
    from nbench.data.nlb.nwbread import FAST_GRID_MS, grid_positions

    k = np.unique(np.concatenate([np.random.default_rng(0).integers(0, FAST_GRID_MS, 1_000_000),
                                  np.arange(100_000), np.arange(FAST_GRID_MS - 100_000, FAST_GRID_MS)]))
    np.testing.assert_array_equal(pd.to_timedelta(k / 1000, unit="s").asi8, k * 1_000_000)
    np.testing.assert_array_equal(grid_positions(k / 1000, FAST_GRID_MS), k)
    off = np.array([0.0, 0.0015, 0.003])
    assert grid_positions(off, 10) is None, "a sample between grid points drops the series"
    assert grid_positions(np.array([0.0, 0.009]), 9) is None, "a sample at the grid end drops the series"
    assert isinstance(grid_positions(np.array([0.0010000016]), 9), str)


@pytest.mark.parametrize("factor", [5, 20])
def test_decimation_is_bitwise_nlb_tools_resampling(factor: int) -> None:
    rng = np.random.default_rng(factor)
    x = np.cumsum(rng.normal(size=(6011, 2)), axis=0)
    x[:37] = np.nan  # leading gap: filled with the first value
    x[1500:1620] = np.nan  # interior gaps: linear
    x[3000:3004, 1] = np.nan
    x[-90:] = np.nan  # trailing gap
    filled = pd.DataFrame(x).interpolate(limit_direction="both").to_numpy()
    ref = scipy.signal.decimate(filled, factor, axis=0, n=500, ftype="fir")
    ref[np.isnan(x[::factor])] = np.nan
    n_bins = len(ref)
    np.testing.assert_array_equal(decimated_runs(x, np.array([0]), n_bins, factor)[0], ref)
    firsts = np.array([3, 70, 150, n_bins - 25])
    runs = decimated_runs(x, firsts, 20, factor)
    for i, first in enumerate(firsts):
        np.testing.assert_array_equal(runs[i], ref[first:first + 20])


@pytest.mark.parametrize("kern_sd", [40, 50, 70])
def test_scipy_smooths_nlb_kernels_by_direct_convolution(kern_sd: int) -> None:
    """nlb_tools' ``signal.convolve(..., 'same')`` sums in float64 for NLB kernels on every segment at least as
    long as the kernel, which is why nbench's float64 sums reproduce its PSTHs to rounding (shorter segments go
    through scipy's FFT and are computed with that very call)."""
    window = gaussian_window(kern_sd)
    for n in (len(window), 10**3, 10**5, 10**7, 10**9):
        segment = np.broadcast_to(np.float16(0), (n,))
        assert scipy.signal.choose_conv_method(segment, window, mode="same") == "direct"
    assert scipy.signal.choose_conv_method(np.zeros(len(window) - 1, np.float16), window, mode="same") == "fft"


def _dense_reference(group: SpikeBlock, trials: TrialSet, n_cond: int, window: np.ndarray, bin_ms: int):
    """nlb_tools' rules spelled out: smooth each observed run with np.convolve 'same', bin, average."""
    n_ms = len(group.observed)
    dense = np.zeros((n_ms, len(group.ids)))
    np.add.at(dense, (group.spike_ms, group.spike_col), 1)
    smooth = np.full_like(dense, np.nan)
    edges = np.diff(np.concatenate([[0], group.observed.astype(np.int8), [0]]))
    for a, b in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True):
        for u in range(dense.shape[1]):  # nlb_tools' smooth_column: float16 counts, rectified
            smooth[a:b, u] = np.maximum(scipy.signal.convolve(dense[a:b, u].astype(np.float16), window, "same"), 0)
    pad = (-n_ms) % bin_ms
    binned = np.nan_to_num(np.concatenate([smooth, np.zeros((pad, dense.shape[1]))])).reshape(
        -1, bin_ms, dense.shape[1]).sum(axis=1)
    binned[~group.observed[::bin_ms]] = np.nan
    out = []
    for c in range(n_cond):
        rows: dict[int, list[np.ndarray]] = {}
        for t in np.flatnonzero(trials.cond == c):
            for k in range(trials.first[t], trials.first[t] + trials.count[t]):
                rows.setdefault(int(k - trials.align_bin[t]), []).append(binned[k])
        out.append(np.array([np.nanmean(rows[a], axis=0) if not np.isnan(rows[a]).all() else
                             np.full(dense.shape[1], np.nan) for a in sorted(rows)]))
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("bin_ms", [5, 20])
def test_condition_sums_equal_dense_smoothing(seed: int, bin_ms: int) -> None:
    rng = np.random.default_rng(seed)
    n_ms, n_units = 12_000, 3
    observed = np.zeros(n_ms, bool)
    observed[[*range(100, 5000), *range(5100, 5260), *range(5300, 5350), *range(5400, 11_950)]] = True
    ms = np.sort(rng.choice(np.flatnonzero(observed), 900))
    group = SpikeBlock(np.arange(n_units), ms, rng.integers(0, n_units, len(ms)).astype(np.int32), observed)
    n = 40
    first = rng.integers(0, (n_ms - 800) // bin_ms, n)  # some windows cross gaps and the data edges
    count = np.where(rng.random(n) < 0.5, 700 // bin_ms, rng.integers(10, 40, n))
    trials = TrialSet(rng.integers(0, 3, n), first, count, first + rng.integers(0, 3, n))
    window = gaussian_window(40)
    sums = condition_sums(group, trials, 3, window, bin_ms)
    for c, ref in enumerate(_dense_reference(group, trials, 3, window, bin_ms)):
        present = sums.present[c]
        with np.errstate(invalid="ignore"):
            mean = sums.total[c][present] / sums.n_valid[c][present][:, None]
        np.testing.assert_allclose(mean, ref, rtol=1e-12, atol=1e-15)


def test_counts_of_repeated_and_missing_bins() -> None:
    observed = np.ones(100, bool)
    observed[50:60] = False
    group = SpikeBlock(np.array([7, 9]), np.array([0, 4, 4, 5, 52, 61, 99]), np.array([0, 0, 1, 1, 0, 1, 1],
                                                                                      np.int32), observed)
    counts = counts_at(group, np.array([[0, 1, 0, 19], [10, 11, 12, 19]]), 5, 20)
    np.testing.assert_array_equal(counts[0, 0], [2, 1])
    np.testing.assert_array_equal(counts[0, 2], counts[0, 0])  # a bin wanted twice counts twice
    np.testing.assert_array_equal(counts[0, 1], [0, 1])
    assert np.isnan(counts[1, :2]).all(), "bins whose first ms is unobserved are missing"
    np.testing.assert_array_equal(counts[1, 2], [0, 1])
    np.testing.assert_array_equal(counts[:, 3], [[0, 1], [0, 1]])


@pytest.mark.usefixtures("nlb_tools")
@pytest.mark.parametrize("window", [
    Window("move_onset_time", -100, 900),  # windows run into the next trial: truncated at its window start
    Window("move_onset_time", -100, 900, allow_overlap=True),
    Window("move_onset_time", None, None, start_field="start_time", end_field="move_onset_time"),
    Window("move_onset_time", -110, 475),  # not a whole number of 20 ms bins: rounded
])
def test_trial_windows_equal_make_trial_data(window: Window) -> None:
    from fixtures.nlb_oracle import sorted_loads
    from nlb_tools.nwb_interface import NWBDataset

    path = fixture_files("area2")["train"]
    rec = load_recording([path])
    include = rec.trials["split"] != "val"
    with sorted_loads():
        ds = NWBDataset(str(path))
    ds.resample(20)
    data = ds.make_trial_data(align_field=window.align, align_range=(window.start, window.end),
                              start_field=window.start_field, end_field=window.end_field,
                              ignored_trials=~include, allow_overlap=window.allow_overlap, allow_nans=True)
    rows = trial_rows(rec.trials, include, window, 20, -(-rec.n_ms // 20)).nonempty()
    starts = np.concatenate([[0], np.cumsum(rows.count)[:-1]])
    for tid, trial in data.groupby("trial_id", sort=False):
        i = int(np.flatnonzero(rows.trial == tid)[0])
        bins = (trial["clock_time"].dt.total_seconds().to_numpy() * 1000 / 20).round().astype(int)
        np.testing.assert_array_equal(rows.bins[starts[i]:starts[i] + rows.count[i]], bins)
        np.testing.assert_array_equal(trial["align_time"].dt.total_seconds().to_numpy() * 1000 / 20,
                                      bins - rows.align_bin[i])
    assert len(data.trial_id.unique()) == len(rows.trial)


def test_fixtures_reach_the_edge_cases() -> None:
    """The oracle comparisons only mean something if the fixtures hit the rare paths."""
    from nbench.tasks.nlb.smoothing import _clean

    maze = load_recording([fixture_files("maze")["train"]])
    rows = trial_rows(maze.trials, maze.trials["split"] != "none", PARAMS["mc_maze_small"].psth.window, 5,
                      -(-maze.n_ms // 5))
    trials = TrialSet(np.zeros(len(rows.trial), int), rows.first, rows.count, rows.align_bin)
    assert (~_clean(maze.block("heldin"), trials, 300, 5)).sum() >= 2, "per-trial smoothing path"
    assert np.isnan(maze.series["hand_vel"].values()).any() and not maze.series["eye_pos"].row_valid().all()
    area2 = load_recording([fixture_files("area2")["train"]]).trials
    assert (area2["split"] == "none").any()
    assert (area2["move_onset_time"] == np.iinfo(np.int64).min).any(), "trials without movement onset"
    dmfc = load_recording([fixture_files("dmfc")["train"]]).trials
    assert dmfc["is_outlier"].any() and len(set(dmfc["tp"])) > 20
    for kind, name in NLB_NAMES.items():
        assert name in PARAMS and fixture_files(kind)["test"].is_file()
