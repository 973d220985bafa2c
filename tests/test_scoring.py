"""The scorer: which metrics a target selects, intervals, ordering and one-line errors (no oracle needed)."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from nlb_synth import GroupSpec, make_dataset, make_group, nlb_like_specs, to_submission
from sklearn.metrics import r2_score

from nbench.errors import ValidationError
from nbench.metrics import METRICS
from nbench.scoring import nlb_result_list, reference_metrics, score, score_group
from nbench.tasks.base import Targets


def _group(spec: GroupSpec, seed: int = 0) -> tuple:
    tgt, sub = make_group(spec, seed)
    return to_submission(spec.name, sub), Targets(group=spec.name, **{k: v for k, v in tgt.items()
                                                                      if k != "train_cond_idx"})


@pytest.fixture(scope="module")
def dataset() -> tuple[dict, dict]:
    tgt, sub = make_dataset(nlb_like_specs(), seed=0)
    targets = {g: Targets(group=g, **{k: v for k, v in d.items() if k != "train_cond_idx"}) for g, d in tgt.items()}
    return {g: to_submission(g, d) for g, d in sub.items()}, targets


def test_metric_selection_follows_nlb(dataset: tuple) -> None:
    subs, targets = dataset
    scores = score(subs, targets, bootstrap=50)
    assert list(scores) == ["mc_maze", "mc_rtt", "area2_bump", "dmfc_rsg", "mc_maze_small_20"]
    bps = ["co-bps", "co-bps per neuron"]
    fp = ["fp-bps", "fp-bps per neuron"]
    assert list(scores["mc_maze"]) == bps + ["vel R2", "psth R2"] + fp
    assert list(scores["mc_rtt"]) == bps + ["vel R2"] + fp
    assert list(scores["dmfc_rsg"]) == bps + ["tp corr", "psth R2"] + fp
    for group, values in scores.items():
        n_eval = targets[group].eval_spikes_heldout.shape[0]
        for name, value in values.items():
            assert isinstance(value.value, float) and value.higher_is_better == METRICS[name].higher_is_better
            assert (value.ci95 is not None) == METRICS[name].bootstrap_ci, name
            assert value.n == n_eval, (group, name, value.n)
            if value.ci95 is not None:
                low, high = value.ci95
                assert low < high and low <= value.value <= high, (group, name, value)
    json.dumps({g: {k: [v.value, v.ci95] for k, v in vals.items()} for g, vals in scores.items()})


def test_interval_brackets_value_and_is_reproducible(dataset: tuple) -> None:
    subs, targets = dataset
    a = score_group(subs["mc_maze"], targets["mc_maze"], bootstrap=200, seed=1)
    b = score_group(subs["mc_maze"], targets["mc_maze"], bootstrap=200, seed=1)
    c = score_group(subs["mc_maze"], targets["mc_maze"], bootstrap=200, seed=2)
    assert a["vel R2"].ci95 == b["vel R2"].ci95 != c["vel R2"].ci95
    for name in ("co-bps", "vel R2", "fp-bps"):
        lo, hi = a[name].ci95
        assert lo <= a[name].value <= hi


def test_true_rates_give_rate_r2_and_reference_passes_through() -> None:
    sub, tgt = _group(GroupSpec("lorenz", 10, 6, 12, 5, 3, 0, behavior="none", psth=False, true_rates=True))
    tgt = replace(tgt, reference={"rate R2 heldout (cond-avg ref)": 0.4},
                  metrics=("co-bps", "co-bps per neuron", "rate R2 heldin", "rate R2 heldout"))
    values = score_group(sub, tgt, bootstrap=100)
    assert list(values) == ["co-bps", "co-bps per neuron", "rate R2 heldin", "rate R2 heldout"]
    n_out = tgt.eval_true_rates_heldout.shape[-1]
    expected = r2_score(tgt.eval_true_rates_heldout.reshape(-1, n_out), sub.eval_rates_heldout.reshape(-1, n_out))
    assert values["rate R2 heldout"].value == pytest.approx(expected, abs=1e-12)
    assert values["rate R2 heldout"].ci95 is not None
    perfect = replace(sub, eval_rates_heldout=tgt.eval_true_rates_heldout)
    assert score_group(perfect, tgt, bootstrap=0)["rate R2 heldout"].value == 1.0
    ref = reference_metrics(tgt)
    assert ref["rate R2 heldout (cond-avg ref)"].value == 0.4 and ref["rate R2 heldout (cond-avg ref)"].ci95 is None


def test_float32_submission_is_scored_in_float64() -> None:
    sub, tgt = _group(GroupSpec("mc_maze", 12, 6, 10, 6, 3, 4, n_conds=3))
    as32 = replace(sub, **{k: v.astype(np.float32) for k, v in sub.arrays().items()})
    cast = replace(sub, **{k: v.astype(np.float32).astype(np.float64) for k, v in sub.arrays().items()})
    a, b = score_group(as32, tgt, bootstrap=0), score_group(cast, tgt, bootstrap=0)
    assert {k: v.value for k, v in a.items()} == {k: v.value for k, v in b.items()}


ERRORS = {
    "negative rate": (lambda s, t: (replace(s, eval_rates_heldout=-s.eval_rates_heldout), t), "co-bps: negative"),
    "nan eval rate": (lambda s, t: (replace(s, eval_rates_heldin=np.full_like(s.eval_rates_heldin, np.nan)), t),
                      "vel R2: non-finite"),
    "no train rates": (lambda s, t: (replace(s, train_rates_heldin=None), t), "needs train_rates_heldin"),
    "shape": (lambda s, t: (replace(s, eval_rates_heldout=s.eval_rates_heldout[:, :, :2]), t), "co-bps: rates shape"),
    "forward half": (lambda s, t: (replace(s, eval_rates_heldout_forward=None), t), "eval_rates_heldout_forward"),
    "psth no idx": (lambda s, t: (s, replace(t, eval_cond_idx=None)), "no eval_cond_idx"),
    "behavior half": (lambda s, t: (s, replace(t, train_behavior=None)), "no train_behavior"),
}


@pytest.mark.parametrize("case", list(ERRORS))
def test_unscorable_inputs_raise_one_line_validation_errors(case: str) -> None:
    sub, tgt = _group(GroupSpec("mc_maze", 12, 6, 10, 6, 3, 4, n_conds=3))
    change, fragment = ERRORS[case]
    sub, tgt = change(sub, tgt)
    with pytest.raises(ValidationError) as info:
        score_group(sub, tgt, bootstrap=10)
    assert "\n" not in str(info.value) and "'mc_maze'" in str(info.value)
    assert fragment in str(info.value)


def test_score_skips_unmatched_groups_and_refuses_no_match(dataset: tuple) -> None:
    subs, targets = dataset
    renamed = {"mc_maze_1": replace(subs["mc_maze"], group="mc_maze_1")}
    with pytest.raises(ValidationError, match="no submission group matches"):
        score(renamed, targets)
    assert list(score({**renamed, "mc_rtt": subs["mc_rtt"]}, targets, bootstrap=0)) == ["mc_rtt"]


def test_nlb_result_list_shape(dataset: tuple) -> None:
    subs, targets = dataset
    out = nlb_result_list(score(subs, targets, bootstrap=0))
    assert [list(d)[0] for d in out] == ["mc_maze_split", "mc_rtt_split", "area2_bump_split", "dmfc_rsg_split",
                                         "mc_maze_scaling_20_split"]
    assert set(out[-1]["mc_maze_scaling_20_split"]) == {"[100] co-bps", "[100] vel R2", "[100] psth R2",
                                                        "[100] fp-bps"}
    assert "co-bps per neuron" not in out[0]["mc_maze_split"]
