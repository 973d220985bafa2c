"""Region prediction on the embedded multi_region set: queries, the generator's design, MtM's bits/spike."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nbench.baselines.mean_rate import MeanRateModel
from nbench.baselines.smoothing import SmoothingModel
from nbench.data.synthetic.multi_region import PARENTS, REGIONS, MultiRegionParams, generate
from nbench.fitting import fit_and_predict
from nbench.metrics.poisson import BpsTrialStats, bps_trial_stats
from nbench.scoring.estimates import BpsPool
from nbench.scoring.task import ScoredView, TaskScorer
from nbench.tasks import make_task
from nbench.tasks.region import FAMILIES, forward_recording, intra_queries, neuron_queries, region_queries
from nbench.tasks.segments import segment_task

SMALL = MultiRegionParams(n_trials=80, min_units=40, max_units=44)


def small_task(family: str):  # type: ignore[no-untyped-def]
    """A family on a small version of the generator (same design, fewer trials and neurons)."""
    task = make_task(f"multi_region_{family}")
    recordings = generate(SMALL)
    if family == "forward":
        recordings = tuple(forward_recording(r) for r in recordings)
    return segment_task(task.info, recordings, "test", FAMILIES[family].queries,
                        forward_inputs=family == "forward")


def score(prepared, model_cls, config=None):  # type: ignore[no-untyped-def]
    scorer = TaskScorer(bootstrap=0)

    def take(view, inputs, sub) -> None:  # type: ignore[no-untyped-def]
        scorer.add(ScoredView(view.query.session, view.query.name, sub.as_float32(), view.targets))

    fit_and_predict(prepared, lambda: model_cls(config or model_cls.Config()), model_cls.capabilities, take)
    return scorer.result()


def test_generator_shape_sessions_regions_and_split() -> None:
    recordings = generate(SMALL)
    assert len(recordings) == 3 and len({r.n_units for r in recordings}) == 3
    for rec in recordings:
        regions = rec.units.regions()
        assert 4 <= len(regions) <= 6 and "APN" in regions
        sizes = [int((rec.units.region == r).sum()) for r in regions]
        assert min(sizes) >= 40 and max(sizes) <= 120
        seg = rec.segments
        assert seg.counts.shape[1] == 100 and seg.bin_ms == 20.0 and seg.true_rates.shape == seg.counts.shape
        assert np.unique(rec.trials["choice"]).tolist() == [0.0, 1.0]
        fractions = {s: float((rec.trials.split == s).mean()) for s in ("train", "val", "test")}
        assert fractions == {"train": 0.7, "val": 0.1, "test": 0.2}
        times = seg.spike_times
        binned = np.zeros(seg.counts.shape)
        np.add.at(binned, (times.trial, (times.time_ms // seg.bin_ms).astype(int), times.unit), 1)
        assert np.array_equal(binned, seg.counts), "spike times bin back to the counts"
    assert generate(SMALL) is recordings, "generated once per process"
    assert not PARENTS["APN"] and all("APN" not in p for p in PARENTS.values())


def test_queries_hide_what_they_say() -> None:
    rec = generate(SMALL)[0]
    for query in region_queries(rec):
        region = query.name.removeprefix("region_")
        assert (rec.units.region[query.hidden] == region).all() and (rec.units.region[query.visible] != region).all()
        assert len(query.hidden) + len(query.visible) == rec.n_units
    loo = neuron_queries(rec)
    assert len(loo) == rec.n_units and all(len(q.hidden) == 1 and len(q.visible) == rec.n_units - 1 for q in loo)
    for query in intra_queries(rec):
        region = rec.units.region[query.hidden[0]]
        assert (rec.units.region[query.visible] == region).all()
    assert sorted(q.hidden[0] for q in intra_queries(rec)) == list(range(rec.n_units)), "each neuron once"
    cut = forward_recording(rec)
    assert cut.segments.counts.shape[1] == 90 and cut.segments.forward.shape[1] == 10


def test_mean_rate_scores_about_zero_and_smoothing_finds_the_self_driven_region_hardest() -> None:
    prepared = small_task("inter")
    null = score(prepared, MeanRateModel)
    assert abs(null.metrics["co-bps"].value) < 0.01 and abs(null.metrics["co-bps per neuron"].value) < 0.02
    result = score(prepared, SmoothingModel, SmoothingModel.preset("multi_region"))
    assert result.metrics["co-bps"].value > 0.04 and result.metrics["co-bps per neuron"].value > 0.04
    for session, queries in result.breakdown.items():
        per_region = {q.removeprefix("region_"): v["co-bps per neuron"].value for q, v in queries.items()
                      if q != "(all)"}
        assert min(per_region, key=per_region.get) == "APN", f"{session}: {per_region}"
        r2 = {q: v["rate R2 heldout"].value for q, v in queries.items() if q != "(all)"}
        assert min(r2, key=r2.get) == "region_APN"


@pytest.mark.parametrize("family", ["forward", "choice", "whisker"])
def test_other_families_score_and_beat_the_null(family: str) -> None:
    prepared = small_task(family)
    null = score(prepared, MeanRateModel)
    result = score(prepared, SmoothingModel, SmoothingModel.preset("multi_region"))
    main = prepared.info.metrics[0]
    assert main in result.metrics and set(result.breakdown) == {"mr0", "mr1", "mr2"}
    if family == "forward":
        assert abs(null.metrics[main].value - result.metrics[main].value) < 1e-9, "same forward rule"
    elif family == "choice":
        # 48 eval trials: 0.6 is 29 correct, p < 0.1 against a coin; the mean-rate decoder stays near chance
        assert result.metrics[main].value > 0.6 and abs(null.metrics[main].value - 0.5) < 0.2
        assert result.metrics[main].value > null.metrics[main].value + 0.1
    else:
        assert result.metrics[main].value > 0.3 > null.metrics[main].value


@pytest.mark.parametrize("family", ["inter", "forward"])
def test_intervals_contain_their_values_per_neuron_bps_and_rate_r2(family: str) -> None:
    """Mean-rate predictions score near zero, where nulls re-fitted on each resample pushed the whole bootstrap
    below the value: pooled over queries and averaged over sessions, every interval holds its value."""
    prepared = small_task(family)
    scorer = TaskScorer(bootstrap=300)

    def take(view, inputs, sub) -> None:  # type: ignore[no-untyped-def]
        scorer.add(ScoredView(view.query.session, view.query.name, sub.as_float32(), view.targets))

    fit_and_predict(prepared, lambda: MeanRateModel(MeanRateModel.Config()), MeanRateModel.capabilities, take)
    metrics = scorer.result().metrics
    assert {"co-bps per neuron", "rate R2 heldout"} <= set(metrics) if family == "inter" else \
        "fp-bps per neuron" in metrics
    for name, value in metrics.items():
        assert value.ci95 is not None and value.ci95[0] <= value.value <= value.ci95[1], (name, value)


def _direct_bps(rates: np.ndarray, spikes: np.ndarray) -> tuple[float, np.ndarray]:
    """NLB population and MtM per-neuron bits/spike written out from the Poisson likelihood."""
    from scipy.special import gammaln

    rates = np.where(rates == 0, 1e-9, rates)
    flat_r, flat_s = rates.reshape(-1, rates.shape[-1]), spikes.reshape(-1, spikes.shape[-1])
    mean = np.where(flat_s.mean(0) == 0, 1e-9, flat_s.mean(0))
    nll_model = (flat_r - flat_s * np.log(flat_r) + gammaln(flat_s + 1)).sum(0)
    nll_null = (mean - flat_s * np.log(mean) + gammaln(flat_s + 1)).sum(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        per_neuron = (nll_null - nll_model) / flat_s.sum(0) / np.log(2)
        population = (nll_null - nll_model).sum() / flat_s.sum() / np.log(2)
    return float(population), per_neuron


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**31 - 1), st.integers(2, 12), st.integers(1, 8), st.integers(1, 6))
def test_population_and_per_neuron_bps_equal_a_direct_computation(seed: int, trials: int, bins: int,
                                                                  neurons: int) -> None:
    rng = np.random.default_rng(seed)
    true = rng.gamma(1.0, 0.5, (trials, bins, neurons))
    spikes = rng.poisson(true).astype(float)
    rates = true * rng.lognormal(0, 0.4, true.shape)
    rates[rng.random(rates.shape) < 0.05] = 0.0
    stats = bps_trial_stats(rates, spikes)
    population, per_neuron = _direct_bps(rates, spikes)
    ours_pop = BpsPool(stats, per_neuron=False).value()[0]
    ours_neuron = BpsPool(stats, per_neuron=True).value()[0]
    if spikes.sum() > 0:
        assert ours_pop == pytest.approx(population, rel=1e-9, abs=1e-9)
    finite = np.isfinite(per_neuron) & (spikes.reshape(-1, neurons).sum(0) > 0)
    if finite.any():
        assert ours_neuron == pytest.approx(per_neuron[finite].mean(), rel=1e-9, abs=1e-9)


def test_per_neuron_definition_matches_mtm_on_a_hand_made_case() -> None:
    """MtM: zero rates become 1e-9; a neuron's bits/spike of +-inf (or NaN: no spikes) is dropped from the mean."""
    spikes = np.array([[[1.0, 0.0, 2.0]], [[0.0, 0.0, 1.0]]])  # 2 trials, 1 bin, 3 neurons; neuron 1 silent
    rates = np.array([[[0.5, 0.2, 0.0]], [[0.5, 0.1, 1.0]]])  # neuron 2 has a zero rate where it spiked
    nats = {0: (0.5 - 1 * np.log(0.5)) + 0.5 - (0.5 - np.log(0.5) + 0.5),  # model = null: 0 nats
            2: (2 * 1.5 - 3 * np.log(1.5)) - ((1e-9 - 2 * np.log(1e-9)) + (1.0 - np.log(1.0)))}
    expected = np.mean([nats[0] / 1 / np.log(2), nats[2] / 3 / np.log(2)])
    stats = bps_trial_stats(rates, spikes)
    assert BpsPool(stats, per_neuron=True).value()[0] == pytest.approx(expected, rel=1e-12)
    pooled = BpsPool.concat([BpsPool(BpsTrialStats(*(getattr(stats, f)[:, [i]] for f in
                                                     ("spike_sum", "n_observed", "model_nll"))), True)
                             for i in range(3)])
    assert pooled.value()[0] == pytest.approx(expected, rel=1e-12), "pooling queries neuron by neuron"


def test_tasks_declare_families_and_pins() -> None:
    for family in FAMILIES:
        info = make_task(f"multi_region_{family}").info
        assert info.n_sessions == 3 and info.pin.source == "synthetic" and info.metrics
    assert make_task("multi_region_inter").info.metrics == ("co-bps per neuron", "co-bps", "rate R2 heldout")
    assert make_task("ibl_inter").info.metrics == ("co-bps per neuron", "co-bps"), "no ground truth for IBL"
    assert set(REGIONS) >= {"LP", "VISa", "APN"}
