"""Unit tests of the metric functions that need no oracle: golden values, properties, sklearn equivalence."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import Ridge
from sklearn.metrics import r2_score
from sklearn.model_selection import GridSearchCV, KFold

from nbench.metrics import METRICS, bootstrap, decoding, poisson, psth, rates, timing

# ---------------------------------------------------------------- bits per spike


def test_bits_per_spike_golden() -> None:
    # one neuron, two bins, counts (1, 0); rates (1, 1); null rate 0.5:
    # NLL_model = 1 + 1 = 2, NLL_null = (0.5 - ln 0.5) + 0.5 = 1 + ln 2  ->  bps = (ln 2 - 1) / ln 2
    spikes = np.array([[[1.0], [0.0]]])
    assert poisson.bits_per_spike(np.ones_like(spikes), spikes) == pytest.approx(1 - 1 / math.log(2), abs=1e-15)
    assert poisson.neg_log_likelihood(np.ones_like(spikes), spikes) == pytest.approx(2.0, abs=1e-15)


def test_null_model_scores_zero_and_truth_scores_positive() -> None:
    rng = np.random.default_rng(0)
    true = rng.gamma(2.0, 0.1, (30, 20, 6))
    spikes = rng.poisson(true).astype(float)
    null = np.broadcast_to(spikes.mean(axis=(0, 1)), spikes.shape)
    assert abs(poisson.bits_per_spike(null, spikes)) < 1e-12
    assert poisson.bits_per_spike(true, spikes) > 0.05
    assert np.nanmax(np.abs(poisson.bits_per_spike_per_neuron(null, spikes))) < 1e-12


@pytest.mark.filterwarnings("ignore:Mean of empty slice")
@settings(max_examples=25, deadline=None)
@given(st.integers(1, 6), st.integers(1, 8), st.integers(1, 5), st.integers(0, 10_000))
def test_null_model_zero_with_nan_padding(n_trials: int, n_bins: int, n_neurons: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    spikes = rng.poisson(0.7, (n_trials, n_bins, n_neurons)).astype(float)
    spikes[rng.random(spikes.shape[:2]) < 0.3] = np.nan
    with np.errstate(all="ignore"):
        null = np.broadcast_to(np.nanmean(spikes, axis=(0, 1)), spikes.shape)
        value = poisson.bits_per_spike(np.nan_to_num(null), spikes)
    if np.nansum(spikes) > 0:
        assert abs(value) < 1e-9


def test_bits_per_spike_does_not_modify_inputs_and_handles_zero_rates() -> None:
    spikes = np.array([[[0.0, 1.0], [2.0, 0.0]]])
    rates_in = np.array([[[0.0, 1.0], [2.0, 0.5]]])
    rates = rates_in.copy()
    poisson.bits_per_spike(rates, spikes)
    np.testing.assert_array_equal(rates, rates_in)
    assert poisson.bits_per_spike(rates, spikes) == poisson.bits_per_spike(np.where(rates == 0, 1e-9, rates),
                                                                           spikes)


@pytest.mark.parametrize("bad, message", [(-0.1, "negative"), (np.nan, "NaN"), (np.inf, "infinite")])
def test_invalid_rates_raise_value_error(bad: float, message: str) -> None:
    spikes = np.ones((2, 3, 2))
    rates = np.ones_like(spikes)
    rates[1, 2, 0] = bad
    with pytest.raises(ValueError, match=message):
        poisson.bits_per_spike(rates, spikes)
    spikes[1, 2, 0] = np.nan  # NaN rates are allowed where spikes are NaN (e.g. DMFC padding)
    if np.isnan(bad):
        assert np.isfinite(poisson.bits_per_spike(rates, spikes))


def test_per_neuron_silent_neuron_is_nan() -> None:
    rng = np.random.default_rng(1)
    spikes = rng.poisson(0.5, (5, 10, 3)).astype(float)
    spikes[..., 1] = 0
    values = poisson.bits_per_spike_per_neuron(np.full(spikes.shape, 0.4), spikes)
    assert np.isnan(values[1]) and np.isfinite(values[[0, 2]]).all()


def test_per_neuron_equals_population_for_one_neuron() -> None:
    rng = np.random.default_rng(2)
    spikes = rng.poisson(0.5, (5, 10, 1)).astype(float)
    r = rng.uniform(0.1, 1.0, spikes.shape)
    assert poisson.bits_per_spike_per_neuron(r, spikes)[0] == pytest.approx(poisson.bits_per_spike(r, spikes),
                                                                               abs=1e-12)


def _bps_from_likelihoods(rates: np.ndarray, spikes: np.ndarray) -> float:
    """NLB's definition literally: NLLs with lgamma terms, null = per-neuron nanmean of the scored spikes."""
    null = np.broadcast_to(np.nanmean(spikes, axis=(0, 1)), spikes.shape)
    gain = poisson.neg_log_likelihood(null, spikes) - poisson.neg_log_likelihood(rates, spikes)
    return gain / np.nansum(spikes) / math.log(2)


def test_sufficient_statistics_equal_the_likelihood_definition() -> None:
    rng = np.random.default_rng(3)
    spikes = rng.poisson(0.3, (12, 15, 5)).astype(float)
    spikes[:4, :5] = np.nan
    spikes[..., 4] = 0.0  # silent neuron: null rate 1e-9 in both forms
    r = rng.uniform(0.0, 0.8, spikes.shape)
    stats = poisson.bps_trial_stats(r, spikes)
    assert poisson.bps_from_stats(stats)[0] == pytest.approx(_bps_from_likelihoods(r, spikes), abs=1e-12)
    per_neuron = poisson.bps_per_neuron_from_stats(stats)[0]
    for j in range(4):
        assert per_neuron[j] == pytest.approx(_bps_from_likelihoods(r[..., j:j + 1], spikes[..., j:j + 1]),
                                              abs=1e-12)
    assert np.isnan(per_neuron[4])
    # resample weights: trial multiplicities equal the explicitly resampled data, scored against the null of the
    # full sample (each neuron's mean count over all trials), not one re-estimated on the resample
    null = np.nanmean(spikes, axis=(0, 1))
    null[null == 0] = poisson.ZERO_RATE
    w = bootstrap.resample_weights(12, 3, seed=0)
    for row in w:
        idx = np.repeat(np.arange(12), row.astype(int))
        null_nll = poisson.neg_log_likelihood(np.broadcast_to(null, spikes[idx].shape), spikes[idx])
        expected = (null_nll - poisson.neg_log_likelihood(r[idx], spikes[idx])) / np.nansum(spikes[idx]) / np.log(2)
        assert poisson.bps_from_stats(stats, row[None])[0] == pytest.approx(expected, abs=1e-12)
        assert expected != pytest.approx(_bps_from_likelihoods(r[idx], spikes[idx]), abs=1e-6)


# ---------------------------------------------------------------- R2 helpers and bootstrap


def test_r2_force_finite_matches_sklearn_on_constant_columns() -> None:
    y = np.array([[1.0, 2.0, 5.0], [1.0, 2.0, 6.0], [1.0, 2.0, 7.0]])
    pred = np.array([[1.0, 2.5, 5.5], [1.0, 2.0, 6.0], [1.0, 2.0, 6.0]])
    num = ((y - pred) ** 2).sum(0)
    den = ((y - y.mean(0)) ** 2).sum(0)
    np.testing.assert_array_equal(rates.r2_force_finite(num, den), r2_score(y, pred, multioutput="raw_values"))


@pytest.mark.parametrize("seed", range(6))
def test_r2_score_uniform_is_bit_identical_to_sklearn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    y = rng.normal(size=(int(rng.integers(2, 300)), int(rng.integers(1, 6)))) * 10.0 ** rng.integers(-6, 6)
    p = y + rng.normal(size=y.shape) * y.std()
    if seed % 2:
        y[:, 0], p[:, 0] = 0.1, 0.1  # constant column predicted exactly
    if seed % 3 == 0:
        y[:, -1] = 3.0  # constant column predicted imperfectly
    assert rates.r2_score_uniform(y, p) == r2_score(y, p)


def test_rate_r2_equals_sklearn_and_perfect_is_one() -> None:
    rng = np.random.default_rng(4)
    true = rng.gamma(2, 0.05, (7, 9, 4))
    pred = true * rng.lognormal(0, 0.2, true.shape)
    assert rates.rate_r2(pred, true) == r2_score(true.reshape(-1, 4), pred.reshape(-1, 4))
    assert rates.rate_r2(true, true) == 1.0
    stats = rates.r2_stats_3d(true, pred)
    assert rates.r2_from_stats(stats, np.ones((1, 7)))[0] == pytest.approx(rates.rate_r2(pred, true), abs=1e-12)


def test_r2_trial_stats_with_dropped_samples() -> None:
    rng = np.random.default_rng(5)
    y, p = rng.normal(size=(40, 2)), rng.normal(size=(40, 2))
    trial = np.sort(rng.choice([0, 2, 3, 5], 40))
    stats = rates.r2_trial_stats(y, p, trial, 7)
    assert stats.count[[1, 4, 6]].sum() == 0
    assert rates.r2_from_stats(stats, np.ones((1, 7)))[0] == pytest.approx(r2_score(y, p), abs=1e-12)
    # A resample is scored against the full sample's mean (R2's baseline is not re-fitted to the resample).
    for row in bootstrap.resample_weights(7, 4, seed=1):
        take = np.concatenate([np.flatnonzero(trial == t) for t in range(7) for _ in range(int(row[t]))])
        sse, sst = ((y[take] - p[take]) ** 2).sum(0), ((y[take] - y.mean(0)) ** 2).sum(0)
        expected = np.mean(1 - sse / sst) if take.size else np.nan
        got = rates.r2_from_stats(stats, row[None])[0]
        assert (np.isnan(expected) and np.isnan(got)) or got == pytest.approx(expected, abs=1e-12)
        assert take.size < 2 or got != pytest.approx(r2_score(y[take], p[take]), abs=1e-9)


def test_resample_weights_are_deterministic_multiplicities() -> None:
    w = bootstrap.resample_weights(17, 50, seed=3)
    assert w.shape == (50, 17) and (w.sum(axis=1) == 17).all()
    np.testing.assert_array_equal(w, bootstrap.resample_weights(17, 50, seed=3))
    assert not np.array_equal(w, bootstrap.resample_weights(17, 50, seed=4))
    assert bootstrap.percentile_interval(np.array([np.nan, 1.0])) is None
    lo, hi = bootstrap.percentile_interval(np.arange(101.0))
    assert (lo, hi) == (2.5, 97.5)


def test_ci_flags_are_declared_in_metrics() -> None:
    with_ci = {name for name, info in METRICS.items() if info.bootstrap_ci}
    assert with_ci == {"co-bps", "co-bps per neuron", "fp-bps", "fp-bps per neuron", "vel R2", "vel R2 (predicted)",
                       "rate R2", "rate R2 heldin", "rate R2 heldout", "reach-direction accuracy (from latents)"}
    assert all(not METRICS[name].bootstrap_ci for name in METRICS if METRICS[name].family == "reference")


# ---------------------------------------------------------------- decoding vs scikit-learn


@pytest.mark.parametrize("n", [10, 11, 12, 13, 14, 1000, 1003])
def test_fold_bounds_equal_kfold(n: int) -> None:
    bounds = decoding.fold_bounds(n)
    tests = [test for _, test in KFold(5).split(np.zeros(n))]
    assert [(t[0], t[-1] + 1) for t in tests] == list(zip(bounds[:-1], bounds[1:], strict=True))


def _sklearn_r2(train_x, train_y, eval_x, eval_y) -> float:
    search = GridSearchCV(Ridge(), {"alpha": decoding.ALPHAS}).fit(train_x, train_y)
    return search.score(eval_x, eval_y)


@pytest.mark.parametrize("scale", [1e-5, 1.0, 1e5])
def test_closed_form_decoder_equals_grid_search(scale: float) -> None:
    rng = np.random.default_rng(6)
    z = rng.normal(size=(400, 3))
    x = np.exp(z @ rng.normal(0, 0.5, (3, 15)) - 2) * scale
    y = z @ rng.normal(size=(3, 2)) + rng.normal(0, 0.5, (400, 2))
    r2, pred, alpha = decoding.fit_and_eval_decoder(x[:300], y[:300], x[300:], y[300:])
    assert abs(r2 - _sklearn_r2(x[:300], y[:300], x[300:], y[300:])) < 1e-9
    assert alpha in decoding.ALPHAS and pred.shape == (100, 2)


@pytest.mark.filterwarnings("ignore::UserWarning")  # sklearn: R2 of one-sample folds is NaN
def test_decoder_degenerate_inputs() -> None:
    rng = np.random.default_rng(7)
    x, y = rng.normal(size=(8, 3)), rng.normal(size=(8, 2))
    with pytest.raises(ValueError, match="at least 5"):
        decoding.fit_and_eval_decoder(x[:4], y[:4], x, y)
    y[:, 1] = 0.0  # constant column: scikit-learn path, same number
    r2, _, _ = decoding.fit_and_eval_decoder(x, y, x, y)
    assert r2 == pytest.approx(_sklearn_r2(x, y, x, y), abs=1e-12)


def test_velocity_decoding_drops_nan_behavior_and_rejects_nan_rates() -> None:
    rng = np.random.default_rng(8)
    r = rng.uniform(0, 1, (20, 6, 4))
    v = r @ rng.normal(size=(4, 2))
    v[:, 0, :] = np.nan
    value, fits = decoding.velocity_decoding(r[:14], v[:14], None, r[14:], v[14:], None)
    assert fits[0].eval_true.shape == (6 * 5, 2) and value > 0.99
    r[3, 2, 1] = np.nan
    with pytest.raises(ValueError, match="non-finite rate"):
        decoding.velocity_decoding(r[:14], v[:14], None, r[14:], v[14:], None)
    r[3, 0, 1] = np.nan  # only where behavior is NaN: fine
    r[3, 2, 1] = 0.5
    decoding.velocity_decoding(r[:14], v[:14], None, r[14:], v[14:], None)


# ---------------------------------------------------------------- psth and timing


def test_shift_trials_positive_and_negative() -> None:
    x = np.arange(8.0).reshape(2, 4, 1)
    out = psth.shift_trials(x, np.array([1, -2]))
    np.testing.assert_array_equal(out[0, :, 0], [np.nan, 0, 1, 2])
    np.testing.assert_array_equal(out[1, :, 0], [6, 7, np.nan, np.nan])
    with pytest.raises(ValueError, match="beyond"):
        psth.shift_trials(x, np.array([5, 0]))


def test_psth_r2_perfect_and_nan_rows() -> None:
    rng = np.random.default_rng(9)
    cond_means = rng.uniform(0.1, 1.0, (3, 6, 4))
    trials = np.repeat(np.arange(3), 2)
    eval_rates = cond_means[trials]
    truth = cond_means.copy()
    truth[0, :2] = np.nan  # padded rows are ignored
    idx = [np.flatnonzero(trials == c) for c in range(3)] + [np.array([], dtype=int)]
    truth = np.concatenate([truth, cond_means[:1]])
    assert psth.psth_r2(truth, eval_rates, idx) == 1.0
    with pytest.raises(ValueError, match="NaN rate"):
        psth.psth_r2(truth, eval_rates, idx, jitter=np.array([0, 0, 1, 0, 0, 0]))


def test_tp_correlation_perfect_negative() -> None:
    n_trials, n_bins = 12, 10
    speeds = np.linspace(0.1, 1.2, n_trials)
    eval_rates = np.cumsum(np.broadcast_to(speeds[:, None, None], (n_trials, n_bins, 1)), axis=1)
    spikes = np.zeros((n_trials, n_bins, 1))
    spikes[:, :3] = np.nan  # outside set-go
    behavior = np.zeros((n_trials, 5))
    behavior[:, 2] = np.arange(n_trials) % 2  # two conditions
    behavior[:, 4] = 1000 - 300 * speeds
    assert timing.tp_correlation(spikes, eval_rates, behavior) == pytest.approx(-1.0, abs=1e-12)
    np.testing.assert_allclose(timing.neural_speed(eval_rates, ~np.isnan(spikes[..., 0])), speeds, atol=1e-12)


def test_tp_correlation_skips_single_trial_conditions() -> None:
    """A condition with one eval trial has no correlation: left out of the mean (nlb_tools would raise)."""
    n_trials, n_bins = 9, 10
    speeds = np.linspace(0.1, 1.2, n_trials)
    eval_rates = np.cumsum(np.broadcast_to(speeds[:, None, None], (n_trials, n_bins, 1)), axis=1)
    spikes = np.zeros((n_trials, n_bins, 1))
    behavior = np.zeros((n_trials, 5))
    behavior[-1, 1] = 180.0  # the last trial is alone in its condition
    behavior[:, 4] = 1000 - 300 * speeds
    behavior[-1, 4] = 0.0
    assert timing.tp_correlation(spikes, eval_rates, behavior) == pytest.approx(-1.0, abs=1e-12)
    with pytest.raises(ValueError, match="tp corr is undefined"):
        timing.tp_correlation(spikes[:1], eval_rates[:1], behavior[:1])


def _mean_rate_like_stats(seed: int) -> poisson.BpsTrialStats:
    """312 trials of overdispersed counts (a random phase per trial) scored by a constant rate 5 % off the mean:
    bits/spike near zero, the case where a resample-refitted null pushed the whole bootstrap below the value."""
    rng = np.random.default_rng(seed)
    phase = rng.uniform(0, 2 * np.pi, (312, 1, 1))
    pref = np.linspace(0, 2 * np.pi, 29, endpoint=False)
    lam = 0.08 * np.exp(np.cos(np.linspace(0, np.pi, 10)[:, None] + phase - pref) - 0.25)
    rates = np.broadcast_to(lam.mean(axis=(0, 1)) * 1.05, lam.shape)
    return poisson.bps_trial_stats(rates, rng.poisson(lam).astype(float))


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_item23_bootstrap_interval_contains_its_point_estimate(seed: int) -> None:
    stats = _mean_rate_like_stats(seed)
    weights = bootstrap.resample_weights(312, 1000, seed=0)
    population, per_neuron = poisson.bps_population_and_neurons(stats)
    boot_population, boot_per_neuron = poisson.bps_population_and_neurons(stats, weights)
    for value, resampled in ((population[0], boot_population),
                             (poisson.neuron_mean(per_neuron)[0], poisson.neuron_mean(boot_per_neuron))):
        lo, hi = bootstrap.percentile_interval(resampled)
        assert lo <= value <= hi, (value, lo, hi)
        assert abs(np.median(resampled) - value) < 0.25 * (hi - lo)  # centred on the value, not below it


def test_item23_shipped_records_intervals_contain_their_values() -> None:
    from pathlib import Path

    from nbench.results import load_records

    records = load_records(Path(__file__).resolve().parents[1] / "leaderboard" / "records")
    checked = 0
    for record in records:
        for name, value in record.metrics.items():
            if value.ci95 is not None:
                checked += 1
                assert value.ci95[0] <= value.value <= value.ci95[1], (record.task["name"], record.model["name"],
                                                                       record.seed, name, value)
    # 42 synthetic records (mean_rate, smoothing, GPFA, Swap-VAE, MtM, MtM-temporal, NDT x 3 seeds x 2 tasks)
    # with 6 interval metrics each, 3 MC_Maze_Small val records with 2 each, 24 *_rates records with 1 (rate R2):
    # mean_rate, smoothing, GPFA, NDT x 3 seeds x 2 tasks
    assert len(records) == 69 and checked == 42 * 6 + 3 * 2 + 24 * 1


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_item23_r2_bootstrap_interval_contains_its_point_estimate(seed: int) -> None:
    """A constant prediction near the mean: R2 just below 0, where a resample-refitted mean (R2's baseline)
    pushed the whole bootstrap below the value."""
    rng = np.random.default_rng(seed)
    true = rng.gamma(2.0, 0.05, (260, 20, 10)) * np.exp(rng.normal(0, 0.5, (260, 1, 10)))
    pred = np.broadcast_to(true.mean(axis=(0, 1)) * 1.02, true.shape)
    value = rates.rate_r2(pred, true)
    lo, hi = bootstrap.percentile_interval(rates.r2_from_stats(rates.r2_stats_3d(true, pred),
                                                               bootstrap.resample_weights(260, 1000, seed=0)))
    assert lo <= value <= hi, (value, lo, hi)
