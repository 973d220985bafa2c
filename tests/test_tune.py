"""``nbench tune``: folds of training trials only, the best grid point wins, a config ``nbench run`` accepts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml
from baseline_data import tiny_inputs

from nbench import registry, tuning
from nbench.baselines.smoothing import SmoothingModel
from nbench.cli import main
from nbench.results import load_records
from nbench.tasks.base import Targets, Task, TaskInfo, TaskInputs

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


class TinyTask(Task):
    """tiny_inputs as a registered task (its eval held-out truth is drawn from the same generator)."""

    def __init__(self) -> None:
        self.info = TaskInfo(name="tiny_tune", dataset="tiny", bin_ms=20.0, version="1", description="tiny",
                             phases=("val",), metrics=("co-bps", "co-bps per neuron"))

    def prepare(self, phase: str | None = None) -> tuple[TaskInputs, Targets]:
        inputs = tiny_inputs(seed=1)
        truth = np.random.default_rng(9).poisson(0.3, (inputs.n_eval, inputs.n_bins, 4)).astype(np.float32)
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


def test_cross_validation_picks_the_best_mean() -> None:
    grid = {"kern_sd_ms": [20, 60, 200], "alpha": [0.1]}
    results = tuning.cross_validate(SmoothingModel, "tiny", tiny_inputs(), grid, folds=3)
    assert [r.params["kern_sd_ms"] for r in results] == [20, 60, 200] and all(len(r.fold_scores) == 3 for r in results)
    assert tuning.best(results).mean == max(r.mean for r in results)
    assert results[-1].mean < tuning.best(results).mean  # a 200 ms kernel on 30 bins of 20 ms smooths too much


def test_cli_writes_a_config_that_run_accepts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "tuned" / "tiny.yaml"
    code = run_cli(["tune", "--task", "tiny_tune", "--grid", "kern_sd_ms=10,20,40", "--grid", "alpha=0.01,1",
                    "--folds", "3", "--out", str(out)])
    printed = capsys.readouterr()
    assert code == 0 and "mean co-bps" in printed.out and "best:" in printed.out
    assert "4 settings x 3 folds" in printed.err  # 10 ms is below one 20 ms bin: dropped
    chosen = yaml.safe_load(out.read_text())
    assert set(chosen) == {"kern_sd_ms", "alpha"} and chosen["kern_sd_ms"] in (20, 40)
    assert not list(out.parent.glob(".*.tmp"))
    assert run_cli(["run", "--task", "tiny_tune", "--model", "smoothing", "--config", str(out),
                    "--out", str(tmp_path / "runs")]) == 0
    (record,) = load_records(tmp_path / "runs")
    assert record.model["config"]["kern_sd_ms"] == chosen["kern_sd_ms"]


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
