"""``nbench tune``: folds of training trials only, the best grid point wins, a config ``nbench run`` accepts."""

from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path

import numpy as np
import pytest
import yaml
from baseline_data import tiny_inputs

from nbench import registry, tuning
from nbench.baselines.smoothing import SmoothingConfig, SmoothingModel
from nbench.cli import main
from nbench.metrics.poisson import bits_per_spike
from nbench.results import load_records
from nbench.tasks.base import Targets, Task, TaskInfo, TaskInputs

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


def rotating_data(seed: int = 0) -> tuple[TaskInputs, np.ndarray]:
    """80 trials (60 train, 20 eval) of 30 bins of 20 ms, 12 held-in -> 4 held-out neurons driven by a latent
    rotating once per 40 bins at a baseline of 0.1 spikes per bin; also returns the eval held-out spikes.

    On this data 3-fold CV prefers a 40 ms kernel: 20 ms leaves more Poisson noise, 100 ms flattens the rotation.
    """
    rng = np.random.default_rng(seed)
    phase = rng.uniform(0, 2 * np.pi, (80, 1)) + 2 * np.pi * np.arange(40) / 40
    latent = np.stack([np.cos(phase), np.sin(phase)], axis=-1)
    spikes = rng.poisson(np.exp(latent @ rng.normal(0, 1.0, (2, 16)) + np.log(0.1))).astype(np.float32)
    win, fwd = spikes[:, :30], spikes[:, 30:]
    inputs = TaskInputs(task="tiny", dataset="tiny", phase="val", group="tiny_tune", bin_ms=20.0,
                        train_spikes_heldin=win[:60, :, :12], train_spikes_heldout=win[:60, :, 12:],
                        eval_spikes_heldin=win[60:, :, :12], train_spikes_heldin_forward=fwd[:60, :, :12],
                        train_spikes_heldout_forward=fwd[:60, :, 12:])
    return inputs, win[60:, :, 12:]


def independent_cv_table(inputs: TaskInputs, grid: dict[str, list], folds: int = 3) -> dict[tuple, float]:
    """Mean co-bps over folds per (kern_sd_ms, alpha), with folds (every k-th training trial) and scores built
    here rather than by ``nbench.tuning``."""
    fold_of = np.arange(inputs.n_train) % folds
    table = {}
    for kern_sd, alpha in itertools.product(grid["kern_sd_ms"], grid["alpha"]):
        scores = []
        for fold in range(folds):
            keep, held = fold_of != fold, fold_of == fold
            sub = dataclasses.replace(
                inputs, eval_spikes_heldin=inputs.train_spikes_heldin[held],
                **{key: getattr(inputs, key)[keep] for key in ("train_spikes_heldin", "train_spikes_heldout",
                                                              "train_spikes_heldin_forward",
                                                              "train_spikes_heldout_forward")})
            model = SmoothingModel(SmoothingConfig(kern_sd_ms=kern_sd, alpha=alpha))
            model.fit(sub)
            scores.append(bits_per_spike(model.predict(sub).eval_rates_heldout, inputs.train_spikes_heldout[held]))
        table[(kern_sd, alpha)] = float(np.mean(scores))
    return table


GRID = {"kern_sd_ms": [20, 40, 100], "alpha": [0.01, 1.0]}
BEST = {"kern_sd_ms": 40, "alpha": 1.0}  # the argmax of independent_cv_table(rotating_data()[0], GRID)


class TinyTask(Task):
    """rotating_data as a registered task; its eval truth comes from the same generator as its inputs."""

    def __init__(self) -> None:
        self.info = TaskInfo(name="tiny_tune", dataset="tiny", bin_ms=20.0, version="1", description="tiny",
                             phases=("val",), metrics=("co-bps", "co-bps per neuron"))

    def prepare(self, phase: str | None = None) -> tuple[TaskInputs, Targets]:
        inputs, truth = rotating_data()
        return inputs, Targets(group="tiny_tune", eval_spikes_heldout=truth)


@pytest.fixture(autouse=True)
def tiny_task() -> None:
    registry.register("tasks", "tiny_tune", TinyTask)


def run_cli(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    return int(exc.value.code)


def test_folds_split_training_trials_only() -> None:
    inputs = tiny_inputs()
    splits = tuning.fold_inputs(inputs, 3)
    seen = np.concatenate([truth for _, truth in splits])
    assert seen.shape[0] == inputs.n_train  # every training trial is scored exactly once
    for fold, (sub, truth) in enumerate(splits):
        np.testing.assert_array_equal(sub.eval_spikes_heldin, inputs.train_spikes_heldin[fold::3])
        np.testing.assert_array_equal(truth, inputs.train_spikes_heldout[fold::3])
        assert sub.n_train + sub.n_eval == inputs.n_train
        assert sub.train_spikes_heldin_forward.shape[0] == sub.n_train


def test_cross_validation_table_and_choice_equal_an_independent_computation() -> None:
    inputs, _ = rotating_data()
    expected = independent_cv_table(inputs, GRID)
    assert max(expected, key=expected.get) == tuple(BEST.values()), expected  # the data's best: mid-grid
    results = tuning.cross_validate(SmoothingModel, "tiny", inputs, GRID, folds=3)
    assert all(len(r.fold_scores) == 3 for r in results)
    table = {(r.params["kern_sd_ms"], r.params["alpha"]): r.mean for r in results}
    assert table == pytest.approx(expected, rel=1e-12, abs=1e-12)
    assert tuning.best(results).params == BEST


def test_cli_writes_a_config_that_run_accepts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "tuned" / "tiny.yaml"
    code = run_cli(["tune", "--task", "tiny_tune", "--grid", "kern_sd_ms=10,20,40,100", "--grid", "alpha=0.01,1",
                    "--folds", "3", "--out", str(out)])
    printed = capsys.readouterr()
    assert code == 0 and "mean co-bps" in printed.out and "best:" in printed.out
    assert "6 settings x 3 folds" in printed.err  # 10 ms is below one 20 ms bin: dropped
    chosen = yaml.safe_load(out.read_text())
    assert chosen == BEST
    assert not list(out.parent.glob(".*.tmp"))
    assert run_cli(["run", "--task", "tiny_tune", "--model", "smoothing", "--config", str(out),
                    "--out", str(tmp_path / "runs")]) == 0
    (record,) = load_records(tmp_path / "runs")
    assert record.model["config"]["kern_sd_ms"] == chosen["kern_sd_ms"]



class FamilyTask(TinyTask):
    """rotating_data under a name of its own whose presets are the MC_Maze_Small family's."""

    def __init__(self) -> None:
        super().__init__()
        self.info = dataclasses.replace(self.info, name="tiny_maze", family="mc_maze_small")


def test_grid_points_start_from_the_preset_run_uses() -> None:
    registry.register("tasks", "tiny_maze", FamilyTask)
    preset = SmoothingModel.preset("mc_maze_small", 20.0)
    assert preset.alpha != SmoothingConfig().alpha  # else this test could not tell the two apart
    doc = tuning.score_point("smoothing", "tiny_maze", {"kern_sd_ms": 40}, 3, 0, None, None)
    inputs, _ = rotating_data()
    [expected] = tuning.cross_validate(SmoothingModel, "mc_maze_small", inputs, {"kern_sd_ms": [40]}, 3,
                                       bin_ms=20.0)
    [generic] = tuning.cross_validate(SmoothingModel, "tiny_maze", inputs, {"kern_sd_ms": [40]}, 3)
    assert doc["fold_scores"] == pytest.approx(expected.fold_scores, rel=1e-12)
    assert doc["fold_scores"] != pytest.approx(generic.fold_scores, rel=1e-6)

@pytest.mark.parametrize(("args", "message"), [
    (["--grid", "kernel=20,40"], "unknown config key 'kernel'"),
    (["--grid", "alpha"], "expected key=value1,value2"),
    (["--folds", "1"], "--folds expects 2.."),
    (["--model", "mean_rate"], "no default grid"),
    (["--grid", "kern_sd_ms=5"], "no usable values"),
])
def test_bad_requests_are_one_line_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str],
                                          message: str) -> None:
    out = tmp_path / "x.yaml"
    assert run_cli(["tune", "--task", "tiny_tune", "--out", str(out), *args]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1 and "Traceback" not in err
    assert not out.exists()
