"""``nbench compare``: paired bootstrap differences of two runs on one task, from the records' per-trial losses."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from nbench import registry
from nbench.baselines.smoothing import SmoothingModel
from nbench.cli import cli, main
from nbench.errors import ValidationError
from nbench.results import MetricValue, Record, load_record
from nbench.runner import RunSpec, run
from nbench.scoring.compare import compare_records
from nbench.scoring.trials import TrialLoss, decode_trials, encode_trials


class BaggedSmoothing(SmoothingModel):
    """Smoothing whose readout is fit on a bootstrap sample of the training trials drawn from the seed: a model
    whose seeds differ the way trained models' seeds do (different fits of the same method)."""

    name = "bagged_smoothing"

    def fit(self, inputs):  # type: ignore[no-untyped-def]
        pick = np.random.default_rng(self.seed).integers(0, inputs.n_train, inputs.n_train)
        keys = ("train_spikes_heldin", "train_spikes_heldout", "train_spikes_heldin_forward",
                "train_spikes_heldout_forward")
        super().fit(dataclasses.replace(inputs, **{k: getattr(inputs, k)[pick] for k in keys
                                                     if getattr(inputs, k) is not None}))


@pytest.fixture(scope="module")
def lorenz_records(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Records of lorenz runs: bagged smoothing seeds 0 to 3, smoothing and mean_rate."""
    out = tmp_path_factory.mktemp("records")
    data = tmp_path_factory.mktemp("data")
    registry.register_class("models", BaggedSmoothing.name, BaggedSmoothing)
    paths = {}
    runs = [(f"bag{seed}", "bagged_smoothing", seed) for seed in range(4)]
    for key, model, seed in (*runs, ("smoothing", "smoothing", 0), ("mean_rate", "mean_rate", 0)):
        result = run(RunSpec.create("lorenz", model, seed=seed, data_dir=str(data)), out_dir=out / key)
        paths[key] = result.record_path
    return paths


def _compare(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["compare", *args], catch_exceptions=False)
    return result.exit_code, result.output


def test_two_seeds_of_one_model_show_no_significant_difference(lorenz_records: dict[str, Path]) -> None:
    code, out = _compare(str(lorenz_records["bag0"]), str(lorenz_records["bag1"]), "--metric", "co-bps")
    assert code == 0, out
    flat = " ".join(out.split())
    assert "co-bps: no significant difference between bagged_smoothing seed 0 and bagged_smoothing seed 1" in flat
    a, b = load_record(lorenz_records["bag0"]), load_record(lorenz_records["bag1"])
    assert a.metrics["co-bps"].value != b.metrics["co-bps"].value  # the seeds did give different fits


def test_two_seeds_per_side_of_one_model_show_no_significant_difference_on_any_metric(
        lorenz_records: dict[str, Path], tmp_path: Path) -> None:
    """Seeds 2 and 3 alone differ significantly in rate R2 heldout (trial sampling only); with seeds {0, 2}
    against {1, 3} the runs are resampled too and no metric differs."""
    bag = {seed: load_record(lorenz_records[f"bag{seed}"]) for seed in range(4)}
    single = {m.metric: m for m in compare_records(bag[2], bag[3]).metrics}
    assert single["rate R2 heldout"].significant and single["rate R2 heldout"].better == "B"
    for side, seeds in (("a", (0, 2)), ("b", (1, 3))):
        (tmp_path / side).mkdir()
        for seed in seeds:
            path = lorenz_records[f"bag{seed}"]
            (tmp_path / side / path.name).write_bytes(path.read_bytes())
    code, out = _compare(str(tmp_path / "a"), str(tmp_path / "b"), "--json")
    assert code == 0, out
    result = json.loads(out)
    assert len(result["metrics"]) == len(bag[0].metrics) >= 4
    assert not any(m["significant"] for m in result["metrics"]), result["metrics"]
    code, out = _compare(str(tmp_path / "a"), str(tmp_path / "b"), "--metric", "rate R2 heldout")
    flat = " ".join(out.split())
    assert ("rate R2 heldout: no significant difference between bagged_smoothing seeds 0, 2 and bagged_smoothing "
            "seeds 1, 3") in flat


def test_smoothing_against_mean_rate_names_the_better_model_with_an_interval(
        lorenz_records: dict[str, Path]) -> None:
    code, out = _compare(str(lorenz_records["smoothing"]), str(lorenz_records["mean_rate"]), "--json")
    assert code == 0, out
    result = json.loads(out)
    co = next(m for m in result["metrics"] if m["metric"] == "co-bps")
    assert co["better"] == "A" and co["significant"]
    lo, hi = co["ci95"]
    assert 0 < lo < co["difference"] < hi  # the interval is about the difference and excludes zero
    code, out = _compare(str(lorenz_records["mean_rate"]), str(lorenz_records["smoothing"]))
    flat = " ".join(out.split())
    assert "co-bps: smoothing seed 0 is better than mean_rate seed 0 (A - B = -0." in flat and "95% CI [-" in flat


def test_paired_interval_is_narrower_than_the_runs_own_intervals(lorenz_records: dict[str, Path]) -> None:
    a, b = load_record(lorenz_records["bag0"]), load_record(lorenz_records["smoothing"])
    [co] = compare_records(a, b, metrics=["co-bps"]).metrics
    own = min(np.diff(a.metrics["co-bps"].ci95)[0], np.diff(b.metrics["co-bps"].ci95)[0])
    assert np.diff(co.ci95)[0] < own / 3  # shared trial-to-trial variation cancels in the pairing


def test_per_trial_losses_reproduce_each_difference_exactly(lorenz_records: dict[str, Path]) -> None:
    a, b = load_record(lorenz_records["smoothing"]), load_record(lorenz_records["mean_rate"])
    la, lb = decode_trials(a.trials)["lorenz"], decode_trials(b.trials)["lorenz"]
    assert set(la) == set(a.metrics)
    for name in a.metrics:
        x, y = la[name], lb[name]
        diff = (y.loss.sum() - x.loss.sum()) / x.norm_or_uniform().sum()
        expected = a.metrics[name].value - b.metrics[name].value
        assert diff == pytest.approx(expected, abs=2e-5 * max(1.0, abs(expected))), name


def _record_with_losses(losses: np.ndarray, seed: int, value: float) -> Record:
    """A record of model 'm' on task 't' whose per-trial losses are ``losses`` (uniform norm)."""
    return Record(run_id=f"20260101T000000Z-0000000{seed}", run_key="0" * 16, created="2026-01-01T00:00:00Z",
                  status="ok", kind="run", task={"name": "t", "version": "1", "phase": "test", "bin_ms": 20.0,
                                                 "group": "t"},
                  dataset={"name": "t", "source": None, "version": "v", "sha256": {}},
                  model={"name": "m", "origin": "x", "config": {}, "config_hash": "h"}, seed=seed,
                  metrics={"rate R2": MetricValue(value, True)},
                  trials=encode_trials({"s": {"rate R2": TrialLoss(losses)}}))


def test_several_seeds_per_side_bring_seed_variation_into_the_interval() -> None:
    """Seeds shift every trial's loss together (a fit-level effect). The two sides are seeds of one model, the
    same spread of shifts: one run per side finds the gap between two of them significant on trials alone;
    three seeds per side do not."""
    rng = np.random.default_rng(0)
    base = rng.uniform(0.5, 1.5, 200) / 200
    shifts = {0: -1.0, 1: 0.2, 2: 1.0, 3: -0.8, 4: 0.0, 5: 0.9}  # x 1e-4 per trial: A = 0, 1, 2; B = 3, 4, 5
    records = [_record_with_losses(base + 1e-4 * shifts[s] + rng.normal(0, 1e-5, 200), s,
                                   1 - (base.sum() + 200e-4 * shifts[s])) for s in range(6)]
    one = compare_records(records[2], records[3]).metrics[0]
    many = compare_records(records[:3], records[3:]).metrics[0]
    assert one.better == "B" and not many.significant
    assert np.diff(many.ci95)[0] > 5 * np.diff(one.ci95)[0]


def test_runs_of_different_tasks_or_without_losses_are_refused(lorenz_records: dict[str, Path],
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    a = load_record(lorenz_records["smoothing"])
    other = dataclasses.replace(a, task={**a.task, "phase": "val"})
    with pytest.raises(ValidationError, match="different tasks: task phase 'test' and 'val'"):
        compare_records(a, other)
    with pytest.raises(ValidationError, match="no per-trial losses"):
        compare_records(a, dataclasses.replace(a, trials={}))
    moved = {k: TrialLoss(v.loss, None if v.norm is None else v.norm + 1)
             for k, v in decode_trials(a.trials)["lorenz"].items()}
    shifted = dataclasses.replace(a, trials=encode_trials({"lorenz": moved}))
    with pytest.raises(ValidationError, match="different eval data"):
        compare_records(a, shifted)
    with pytest.raises(SystemExit) as exc:
        main(["compare", str(lorenz_records["smoothing"]), str(lorenz_records["mean_rate"]), "--metric", "psth R2"])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and err.count("\n") == 1
    assert err.startswith("error: metric 'psth R2' is not in every record (common: co-bps, ")
