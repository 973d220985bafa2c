"""Sessions, queries, declared metrics, capabilities and behaviour predictions (the task/model spine)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import h5py
import numpy as np
import pytest

from nbench import registry
from nbench.baselines.base import Capabilities
from nbench.baselines.mean_rate import MeanRateModel
from nbench.errors import ConfigError, ValidationError
from nbench.fitting import check_capabilities, fit_and_predict
from nbench.runner import RunSpec, run
from nbench.scoring import score_group
from nbench.submission import Submission, write_submission
from nbench.tasks.base import BehaviorSpec, Targets
from nbench.testing.sessions import TinySessionsTask


@pytest.fixture()
def tiny_tasks() -> None:
    """Register the tiny generated tasks for the duration of a test."""
    entries = {"tiny_sessions": lambda: TinySessionsTask(),
               "tiny_regions": lambda: TinySessionsTask(queries="regions", name="tiny_regions"),
               "tiny_choice": lambda: TinySessionsTask((("s1", 14),), behavior="choice", name="tiny_choice")}
    for name, factory in entries.items():
        registry.register("tasks", name, factory)
    yield
    for name in entries:
        registry._BUILTIN["tasks"].pop(name, None)


class CountingModel(MeanRateModel):
    """mean_rate that counts its fits (per-query by default)."""

    name = "counting"
    fits: list[int] = []

    def fit(self, inputs) -> None:  # type: ignore[no-untyped-def]
        CountingModel.fits.append((inputs.n_heldin, inputs.n_heldout))
        super().fit(inputs)


class AnyQueryModel(CountingModel):
    """Answers any query from one fit on every unit: predicts each neuron's mean rate by its id."""

    name = "any_query"
    capabilities = Capabilities(consumes=frozenset({"bins", "any_query"}))

    def fit(self, inputs) -> None:  # type: ignore[no-untyped-def]
        CountingModel.fits.append((inputs.n_heldin, inputs.n_heldout))
        assert inputs.n_heldout == 0 and inputs.n_eval == 0, "any-query models learn from training trials only"
        self.by_id = dict(zip(inputs.heldin_ids.tolist(), np.nanmean(inputs.train_spikes_heldin, axis=(0, 1)),
                              strict=True))

    def predict(self, inputs) -> Submission:  # type: ignore[no-untyped-def]
        def fill(n: int, ids: np.ndarray) -> np.ndarray:
            means = np.array([self.by_id[i] for i in ids.tolist()])
            return np.broadcast_to(means, (n, inputs.n_bins, len(ids))).copy()

        return Submission(inputs.group, fill(inputs.n_train, inputs.heldin_ids),
                          fill(inputs.n_train, inputs.heldout_ids), fill(inputs.n_eval, inputs.heldin_ids),
                          fill(inputs.n_eval, inputs.heldout_ids))


def test_two_session_task_with_different_neuron_counts_runs_end_to_end(tiny_tasks: None, tmp_path: Path) -> None:
    prepared = TinySessionsTask().build()
    assert prepared.sessions == ["s1", "s2"]
    sizes = {v.query.session: v.inputs.n_heldin + v.inputs.n_heldout for v in prepared.views}
    assert sizes == {"s1": 12, "s2": 9}
    assert {v.group for v in prepared.views} == {"tiny_sessions/s1/heldout", "tiny_sessions/s2/heldout"}
    for model in ("mean_rate", "smoothing"):
        result = run(RunSpec.create("tiny_sessions", model), out_dir=tmp_path)
        record = result.record
        assert set(record.breakdown) == {"s1", "s2"}
        per_session = [record.breakdown[s]["(all)"]["co-bps"].value for s in ("s1", "s2")]
        assert record.metrics["co-bps"].value == pytest.approx(np.mean(per_session))
        assert record.metrics["co-bps"].ci95 is not None
        assert record.model["fit_info"].get("fits", 1) == 2
    assert result.record.metrics["co-bps"].value > 0.1, "smoothing beats the null on the generated sessions"


def test_per_query_model_is_fit_per_query_and_any_query_model_once(tiny_tasks: None) -> None:
    prepared = TinySessionsTask((("s1", 12),), queries="regions", name="tiny_regions").build()
    assert [v.query.name for v in prepared.views] == ["region_A", "region_B"]
    # (visible, hidden) units of each fit: one fit per region query, or one fit on every unit
    for model_cls, expected in ((CountingModel, [(6, 6), (6, 6)]), (AnyQueryModel, [(12, 0)])):
        CountingModel.fits = []
        predicted: list[str] = []

        def collect(view, inputs, sub, into=predicted) -> None:  # type: ignore[no-untyped-def]
            into.append(sub.group)

        plan = fit_and_predict(prepared, lambda cls=model_cls: cls(cls.Config()), model_cls.capabilities, collect)
        assert CountingModel.fits == expected
        assert plan.fits == len(expected) and predicted == [v.group for v in prepared.views]


def test_region_queries_pool_units_like_one_query(tiny_tasks: None, tmp_path: Path) -> None:
    """Each neuron scored under its own region query: the session's per-neuron bps is the mean over all."""
    record = run(RunSpec.create("tiny_regions", "smoothing"), out_dir=tmp_path).record
    s1 = record.breakdown["s1"]
    per_query = [s1[q]["co-bps per neuron"].value for q in ("region_A", "region_B")]
    pooled = s1["(all)"]["co-bps per neuron"].value
    assert min(per_query) <= pooled <= max(per_query)


def test_categorical_behaviour_is_scored_by_accuracy_never_tp_corr() -> None:
    prepared = TinySessionsTask((("s1", 14),), behavior="choice", name="tiny_choice").build()
    view = prepared.views[0]
    targets = view.targets
    assert targets.behavior.kind == "categorical" and targets.eval_behavior.shape == (view.inputs.n_eval, 1)
    model = MeanRateModel(MeanRateModel.Config())
    model.fit(view.inputs)
    sub = model.predict(view.inputs)
    truth = targets.eval_behavior
    values = score_group(replace(sub, eval_behavior_pred=truth), targets, bootstrap=200)
    assert "tp corr" not in values
    assert values["choice accuracy (predicted)"].value == 1.0
    assert 0.0 <= values["choice accuracy (decoded)"].value <= 1.0
    wrong = score_group(replace(sub, eval_behavior_pred=1 - truth), targets, bootstrap=0)
    assert wrong["choice accuracy (predicted)"].value == 0.0
    # The same per-trial array declared as DMFC-like scalar behaviour would be tp corr: declaration decides.
    assert BehaviorSpec("tp", "scalar", "tp_corr").decoded_metric == "tp corr"


def test_decoded_choice_accuracy_follows_the_rates() -> None:
    """Rates that carry the condition decode the choice well; constant rates decode it at chance."""
    view = TinySessionsTask((("s1", 14),), behavior="choice", name="tiny_choice").build().views[0]
    model = MeanRateModel(MeanRateModel.Config())
    model.fit(view.inputs)
    constant = model.predict(view.inputs)
    from nbench.testing.sessions import tiny_recording

    rec = tiny_recording("s1", 14, seed=0)
    train, evals = rec.trials.rows_in(("train", "val")), rec.trials.rows_in(("test",))
    true = rec.segments.true_rates
    informative = replace(constant, train_rates_heldin=true[train][..., view.query.visible],
                          train_rates_heldout=true[train][..., view.query.hidden],
                          eval_rates_heldin=true[evals][..., view.query.visible],
                          eval_rates_heldout=true[evals][..., view.query.hidden])
    good = score_group(informative, view.targets, bootstrap=0)["choice accuracy (decoded)"].value
    chance = score_group(constant, view.targets, bootstrap=0)["choice accuracy (decoded)"].value
    assert good >= 0.75 and good > chance + 0.2


def _behaviour_only_file(tmp_path: Path, values: np.ndarray) -> Path:
    return write_submission(tmp_path / "behaviour.h5", Submission("tiny_choice", eval_behavior_pred=values))


def test_behaviour_only_submission_is_scored(tiny_tasks: None, tmp_path: Path) -> None:
    from nbench.scoring.files import score_file

    view = TinySessionsTask((("s1", 14),), behavior="choice", name="tiny_choice").build().views[0]
    path = _behaviour_only_file(tmp_path, view.targets.eval_behavior)
    (record,) = score_file(path, tasks=["tiny_choice"])
    assert list(record.metrics) == ["choice accuracy (predicted)"]
    assert record.metrics["choice accuracy (predicted)"].value == 1.0


def test_nan_behaviour_prediction_is_one_line_exit_2(tiny_tasks: None, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture) -> None:
    from nbench.cli import main

    view = TinySessionsTask((("s1", 14),), behavior="choice", name="tiny_choice").build().views[0]
    values = view.targets.eval_behavior.copy()
    values[3, 0] = np.nan
    path = _behaviour_only_file(tmp_path, values)
    with pytest.raises(SystemExit) as exit_info:
        main(["score", str(path), "--task", "tiny_choice", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip()
    assert exit_info.value.code == 2 and "\n" not in err and "Traceback" not in err
    assert "eval_behavior_pred" in err and "NaN" in err and str(path) in err


def test_capabilities_are_checked_before_any_data_work(tiny_tasks: None) -> None:
    info = TinySessionsTask().info
    behaviour_only = Capabilities(produces=frozenset({"behavior"}))
    with pytest.raises(ConfigError, match="produces behavior"):
        check_capabilities(info, "poyo_like", behaviour_only)
    choice_info = TinySessionsTask(behavior="choice").info
    check_capabilities(choice_info, "poyo_like", behaviour_only)  # behaviour is scored there
    rates_only = replace(info, spike_times="none")
    with pytest.raises(ConfigError, match="needs spike times"):
        check_capabilities(rates_only, "spiky", Capabilities(consumes=frozenset({"spike_times"})))


def test_targets_without_declaration_outside_nlb_are_refused() -> None:
    targets = Targets(group="not_nlb", eval_spikes_heldout=np.zeros((3, 4, 2)))
    sub = Submission("not_nlb", eval_rates_heldin=np.ones((3, 4, 1)), eval_rates_heldout=np.ones((3, 4, 2)))
    with pytest.raises(ValidationError, match="declare no metrics"):
        score_group(sub, targets)


def test_multi_view_submission_file_round_trip(tiny_tasks: None, tmp_path: Path) -> None:
    """A run's predictions written in the nbench layout score to the same numbers through `nbench score`."""
    from nbench.scoring.files import score_file

    result = run(RunSpec.create("tiny_regions", "smoothing"))
    path = write_submission(tmp_path / "regions.h5", list(result.submissions.values()))
    with h5py.File(path) as h5:
        assert sorted(h5["tiny_regions"]) == ["s1", "s2"] and sorted(h5["tiny_regions/s1"]) == ["region_A",
                                                                                                   "region_B"]
    (record,) = score_file(path, tasks=["tiny_regions"])
    for name, value in result.record.metrics.items():
        assert record.metrics[name].value == value.value
