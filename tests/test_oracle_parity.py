"""Parity of every NLB metric with the ``nlb_tools.evaluation`` oracle (absolute tolerance 1e-9).

Randomised inputs (seeded loops over shapes, rates and scales) and NLB's edge cases: NaN spikes (DMFC padding),
zero rates, silent neurons, decode masks, positive and negative jitter, constant PSTH columns, empty conditions,
20 ms and scaling groups, and end-to-end ``evaluate`` on dicts, on files and through ``nbench score``.
nlb_tools replaces zero rates in place, so the oracle always gets copies; file comparisons use the same float32
file on both sides. The largest difference seen per metric is printed at the end of the module.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import import_oracle
from nlb_synth import (
    GroupSpec,
    float32_roundtrip,
    make_dataset,
    make_group,
    nlb_like_specs,
    to_submission,
    write_submission_h5,
)

from nbench.metrics import decoding, poisson, psth, timing
from nbench.scoring import nlb_result_list, score
from nbench.tasks.base import Targets
from nbench.tasks.targets_file import read_targets, write_targets

oracle = import_oracle("nlb_tools.evaluation")
pytestmark = [pytest.mark.oracle, pytest.mark.filterwarnings("ignore::RuntimeWarning")]

TOL = 1e-9
MAX_DIFF: dict[str, float] = {}


def check(metric: str, ours: float, theirs: float) -> None:
    """Assert |ours - theirs| <= TOL (NaN equals NaN) and remember the largest difference per metric."""
    ours, theirs = float(ours), float(theirs)
    if not np.isfinite(theirs):  # e.g. no spikes at all: both give the same NaN or infinity
        assert ours == theirs or (np.isnan(ours) and np.isnan(theirs)), f"{metric}: nbench {ours}, nlb {theirs}"
        return
    diff = abs(ours - theirs)
    MAX_DIFF[metric] = max(MAX_DIFF.get(metric, 0.0), diff)
    assert diff <= TOL, f"{metric}: nbench {ours!r} vs nlb_tools {theirs!r} (diff {diff:.3g})"


@pytest.fixture(scope="module", autouse=True)
def _report_max_differences(pytestconfig: pytest.Config):
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):  # scikit-learn's many tiny fits are several times faster single-threaded
        yield
    reporter = pytestconfig.pluginmanager.getplugin("terminalreporter")
    capture = pytestconfig.pluginmanager.getplugin("capturemanager")
    if reporter is not None and capture is not None and MAX_DIFF:
        with capture.global_and_fixture_disabled():
            reporter.write_line("")
            reporter.write_line("max |nbench - nlb_tools| per metric: " +
                                ", ".join(f"{k} {v:.2g}" for k, v in sorted(MAX_DIFF.items())))


def _targets(tgt: dict[str, dict]) -> dict[str, Targets]:
    return {g: Targets(group=g, **{k: v for k, v in d.items() if k != "train_cond_idx"}) for g, d in tgt.items()}


def _copy(d: dict) -> dict:
    return {g: {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in a.items()} for g, a in d.items()}


# ---------------------------------------------------------------- bits per spike


def _random_counts(rng: np.random.Generator, shape: tuple[int, ...], scale: float) -> tuple[np.ndarray, np.ndarray]:
    true = scale * rng.gamma(0.7, 1.0, shape)
    spikes = rng.poisson(true).astype(float)
    rates = true * rng.lognormal(0, 0.5, shape)
    return rates, spikes


@pytest.mark.parametrize("seed", range(24))
def test_bits_per_spike_random(seed: int) -> None:
    rng = np.random.default_rng(seed)
    shape = (int(rng.integers(1, 25)), int(rng.integers(1, 40)), int(rng.integers(1, 12)))
    rates, spikes = _random_counts(rng, shape, float(rng.choice([1e-3, 0.05, 1.0, 30.0])))
    if seed % 3 == 0:  # DMFC-style front padding
        starts = rng.integers(0, shape[1], shape[0])
        pad = np.arange(shape[1])[None, :] < starts[:, None]
        spikes[pad] = np.nan
        rates[pad] = np.nan if seed % 2 else rates[pad]
    if seed % 4 == 1:
        rates[rng.random(shape) < 0.1] = 0.0
    if seed % 5 == 2:
        spikes[..., 0] = 0.0  # silent neuron
    check("co-bps", poisson.bits_per_spike(rates, spikes), oracle.bits_per_spike(rates.copy(), spikes.copy()))
    check("nll", poisson.neg_log_likelihood(rates, spikes) / spikes.size,
          oracle.neg_log_likelihood(rates.copy(), spikes.copy()) / spikes.size)


def test_bits_per_spike_edges() -> None:
    rng = np.random.default_rng(7)
    rates, spikes = _random_counts(rng, (6, 10, 4), 0.2)
    for r, s in [(np.zeros_like(rates), spikes),  # all-zero rates
                 (rates, np.zeros_like(spikes)),  # no spikes at all: NaN / inf
                 (rates, np.where(rng.random(spikes.shape) < 0.5, np.nan, spikes))]:
        with np.errstate(all="ignore"):
            theirs = oracle.bits_per_spike(r.copy(), s.copy())
        check("co-bps", poisson.bits_per_spike(r, s), theirs)


# ---------------------------------------------------------------- velocity decoding


def _decoding_case(rng: np.random.Generator, n_train: int, n_eval: int, n_bins: int, n_neurons: int,
                   masks: int, nan_edges: bool) -> tuple:
    n_all = n_train + n_eval
    z = np.cumsum(rng.normal(0, 0.3, (n_all, n_bins, 4)), axis=1)
    rates = np.exp(z @ rng.normal(0, 0.5, (4, n_neurons)) - 2.5) * rng.lognormal(0, 0.3, (n_all, n_bins, n_neurons))
    vel = z @ rng.normal(0, 50, (4, 2)) + rng.normal(0, 10, (n_all, n_bins, 2))
    if nan_edges:
        vel[:, :2] = np.nan
        vel[rng.random(n_all) < 0.3, -3:] = np.nan
    if masks:
        labels = rng.integers(0, masks, n_all)
        mask = labels[:, None] == np.arange(masks)[None, :]
    else:
        mask = np.ones((n_all, 1), dtype=bool)
    return rates[:n_train], vel[:n_train], mask[:n_train], rates[n_train:], vel[n_train:], mask[n_train:]


def _check_decoding(case: tuple, label: str = "vel R2") -> None:
    ours, _ = decoding.velocity_decoding(*case)
    theirs = oracle.velocity_decoding(*[a.copy() for a in case])
    check(label, ours, theirs)


@pytest.mark.parametrize("seed", range(6))
def test_velocity_decoding_random(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    case = _decoding_case(rng, int(rng.integers(12, 40)), int(rng.integers(5, 15)), int(rng.integers(8, 25)),
                          int(rng.integers(3, 30)), masks=[0, 2][seed % 2], nan_edges=seed % 3 == 0)
    _check_decoding(case)


ADVERSARIAL = {
    "tiny rates": lambda r, v: (r * 1e-6, v),
    "huge rates": lambda r, v: (r * 1e6, v),
    "offset rates": lambda r, v: (r + 1e4, v),
    "tiny behavior": lambda r, v: (r, v * 1e-6),
    "huge behavior": lambda r, v: (r, v * 1e6),
    "duplicate and silent neurons": lambda r, v: (np.concatenate([r, r[..., :3], 0 * r[..., :2]], -1), v),
    "more neurons than samples per fold": lambda r, v: (np.repeat(r, 8, axis=-1) * np.linspace(0.5, 2, 8 * r.shape[-1]),
                                                          v),
}


@pytest.mark.parametrize("name", list(ADVERSARIAL))
def test_velocity_decoding_adversarial(name: str) -> None:
    rng = np.random.default_rng(11)
    tr, tb, tm, er, eb, em = _decoding_case(rng, 10, 6, 6, 12, masks=0, nan_edges=False)
    tr, tb = ADVERSARIAL[name](tr, tb)
    er, eb = ADVERSARIAL[name](er, eb)
    _check_decoding((tr, tb, tm, er, eb, em))


def test_velocity_decoding_constant_behavior_column_falls_back_exactly() -> None:
    rng = np.random.default_rng(5)
    tr, tb, tm, er, eb, em = _decoding_case(rng, 20, 8, 10, 8, masks=0, nan_edges=False)
    tb[..., 1], eb[..., 1] = 0.0, 0.0
    _check_decoding((tr, tb, tm, er, eb, em))


# ---------------------------------------------------------------- PSTH


@pytest.mark.parametrize("seed", range(10))
def test_psth_random(seed: int) -> None:
    rng = np.random.default_rng(200 + seed)
    jitter = [(0, 0), (0, 5), (-4, 0), (-3, 3)][seed % 4]
    spec = GroupSpec("g", 10, int(rng.integers(6, 30)), int(rng.integers(10, 40)), int(rng.integers(2, 8)),
                     int(rng.integers(1, 6)), 2, n_conds=int(rng.integers(1, 7)), behavior="none", jitter=jitter,
                     dmfc_padding=seed % 2 == 1, constant_psth_neuron=seed % 3 == 0, empty_condition=seed % 5 == 0)
    tgt, sub = make_group(spec, seed)
    rates = np.concatenate([sub["eval_rates_heldin"], sub["eval_rates_heldout"]], axis=-1)
    jit = tgt.get("eval_jitter")
    ours = psth.psth_r2(tgt["psth"], rates, list(tgt["eval_cond_idx"]), jit)
    theirs = oracle.eval_psth(tgt["psth"].copy(), rates.copy(), tgt["eval_cond_idx"],
                              jitter=None if jit is None else jit.copy())
    check("psth R2", ours, theirs)


def test_psth_constant_column_predicted_exactly() -> None:
    spec = GroupSpec("g", 4, 12, 10, 3, 2, 2, n_conds=3, behavior="none", constant_psth_neuron=True)
    tgt, sub = make_group(spec, 1)
    rates = np.concatenate([sub["eval_rates_heldin"], sub["eval_rates_heldout"]], axis=-1)
    check("psth R2", psth.psth_r2(tgt["psth"], rates, list(tgt["eval_cond_idx"])),
          oracle.eval_psth(tgt["psth"], rates, tgt["eval_cond_idx"]))


# ---------------------------------------------------------------- tp corr


@pytest.mark.parametrize("seed", range(8))
def test_tp_corr_random(seed: int) -> None:
    rng = np.random.default_rng(300 + seed)
    spec = GroupSpec("dmfc_rsg", 8, int(rng.integers(60, 120)), int(rng.integers(8, 50)), int(rng.integers(2, 10)),
                     int(rng.integers(1, 6)), 2, behavior="trial", dmfc_padding=True, psth=False)
    tgt, sub = make_group(spec, seed)
    rates = np.concatenate([sub["eval_rates_heldin"], sub["eval_rates_heldout"]], axis=-1)
    check("tp corr", timing.tp_correlation(tgt["eval_spikes_heldout"], rates, tgt["eval_behavior"]),
          oracle.speed_tp_correlation(tgt["eval_spikes_heldout"].copy(), rates.copy(), tgt["eval_behavior"].copy()))


# ---------------------------------------------------------------- end to end


def _compare_lists(ours: list[dict], theirs: list[dict]) -> None:
    assert [list(d) for d in ours] == [list(d) for d in theirs]
    for mine, ref in zip(ours, theirs, strict=True):
        (split, values), = mine.items()
        ref_values = ref[split]
        assert sorted(values) == sorted(ref_values), split
        for metric, value in ref_values.items():
            check(metric.split("] ")[-1], values[metric], value)


def test_evaluate_dicts_multi_dataset() -> None:
    tgt, sub = make_dataset(nlb_like_specs(), seed=1)
    theirs = oracle.evaluate(_copy(tgt), _copy(sub))
    scores = score({g: to_submission(g, d) for g, d in sub.items()}, _targets(tgt), bootstrap=0)
    _compare_lists(nlb_result_list(scores), theirs)


def test_evaluate_scaling_and_20ms_groups() -> None:
    specs = [GroupSpec("mc_maze_20", 16, 6, 7, 10, 4, 2, bin_ms=20, n_conds=3),
             GroupSpec("mc_maze_large", 18, 6, 14, 10, 4, 4, n_conds=3, silent_heldout=1),
             GroupSpec("mc_maze_medium", 14, 6, 14, 10, 4, 4, n_conds=3),
             GroupSpec("mc_maze_small", 12, 6, 14, 10, 4, 4, n_conds=3, zero_rate_frac=0.02),
             GroupSpec("mc_maze_small_20", 12, 6, 4, 10, 4, 1, bin_ms=20, n_conds=3)]
    tgt, sub = make_dataset(specs, seed=4)
    theirs = oracle.evaluate(_copy(tgt), _copy(sub))
    ours = nlb_result_list(score({g: to_submission(g, d) for g, d in sub.items()}, _targets(tgt), bootstrap=0))
    assert [list(d)[0] for d in ours] == ["mc_maze_20_split", "mc_maze_scaling_split", "mc_maze_scaling_20_split"]
    _compare_lists(ours, theirs)


@pytest.fixture(scope="module")
def nlb_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict, dict, list]:
    """Target file written by nbench, float32 submission file, their dicts, and nlb_tools' scores of the files."""
    tmp = tmp_path_factory.mktemp("nlb_files")
    tgt, sub = make_dataset(nlb_like_specs(), seed=2)
    target_path = write_targets(tmp / "targets.h5", _targets(tgt))
    sub_path = write_submission_h5(tmp / "submission.h5", sub)
    return target_path, sub_path, tgt, sub, oracle.evaluate(str(target_path), str(sub_path))


def test_evaluate_files_multi_dataset(nlb_files: tuple) -> None:
    from nbench.validation import load_submission, spec_from_targets

    target_path, sub_path, _, _, theirs = nlb_files
    targets = read_targets(target_path)
    subs = load_submission(sub_path, {g: spec_from_targets(t) for g, t in targets.items()})
    _compare_lists(nlb_result_list(score(subs, targets, bootstrap=0)), theirs)


def test_float32_file_equals_float32_dict(nlb_files: tuple) -> None:
    """Scoring the float32 file equals scoring the float32-rounded arrays in memory (like with like)."""
    _, _, tgt, sub, from_file = nlb_files
    in_memory = score({g: to_submission(g, d) for g, d in float32_roundtrip(sub).items()}, _targets(tgt),
                      bootstrap=0)
    _compare_lists(nlb_result_list(in_memory), from_file)


def test_cli_score_records_match_evaluate(nlb_files: tuple, tmp_path: Path) -> None:
    from nbench.cli import main

    target_path, sub_path, _, _, theirs = nlb_files
    with pytest.raises(SystemExit) as exit_info:
        main(["score", str(sub_path), "--targets", str(target_path), "--out", str(tmp_path)])
    assert exit_info.value.code == 0
    records = [json.loads(p.read_text()) for p in sorted(tmp_path.rglob("*.json"))]
    from nbench.results import MetricValue

    scores = {r["task"]["group"]: {k: MetricValue(v["value"], v["higher_is_better"]) for k, v in r["metrics"].items()}
              for r in records}
    ordered = {g: scores[g] for g in ["mc_maze", "mc_rtt", "area2_bump", "dmfc_rsg", "mc_maze_small_20"]}
    _compare_lists(nlb_result_list(ordered), theirs)


def test_target_file_written_by_nlb_tools(tmp_path: Path) -> None:
    save_to_h5 = import_oracle("nlb_tools.make_tensors").save_to_h5
    tgt, sub = make_dataset(nlb_like_specs()[2:4], seed=6)
    path = tmp_path / "eval_data_val.h5"
    save_to_h5(_copy(tgt), str(path))
    theirs = oracle.evaluate(str(path), _copy(sub))
    ours = score({g: to_submission(g, d) for g, d in sub.items()}, read_targets(path), bootstrap=0)
    _compare_lists(nlb_result_list(ours), theirs)


def test_real_mc_maze_small_spikes(shared_data: Path) -> None:
    """co-bps on the genuine MC_Maze_Small val held-out spikes, for a smoothed-rate predictor."""
    import h5py

    path = shared_data / "nlb_mc_maze_small" / "mc_maze_small_val_5ms.h5"
    with h5py.File(path, "r") as h5:
        train = h5["train_spikes_heldout"][()].astype(float)
        spikes = h5["eval_spikes_heldout"][()].astype(float)
    psth_like = np.broadcast_to(train.mean(axis=0), spikes.shape)
    kernel = np.exp(-0.5 * (np.arange(-12, 13) / 4.0) ** 2)
    smooth = np.apply_along_axis(lambda x: np.convolve(x, kernel / kernel.sum(), "same"), 1, spikes)
    rates = 0.5 * psth_like + 0.5 * smooth
    check("co-bps", poisson.bits_per_spike(rates, spikes), oracle.bits_per_spike(rates.copy(), spikes.copy()))
