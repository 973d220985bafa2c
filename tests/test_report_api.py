"""The Python API (``import nbench``) and the run report (``nbench report``, ``nbench run --report``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import cli

import nbench
from nbench import registry
from nbench.errors import ConfigError


def test_import_nbench_loads_no_numerical_package() -> None:
    code = ("import sys, nbench; heavy = [m for m in ('numpy', 'h5py', 'scipy', 'torch', 'click') if m in sys.modules]"
            "; print(heavy, nbench.Submission.__name__)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[] Submission"


class Constant(nbench.Model):
    """Every rate 0.1: a model with no Config of its own (the default is no settings)."""

    name = "constant_test"

    def fit(self, inputs: nbench.TaskInputs) -> None:
        self.rate = 0.1

    def predict(self, inputs: nbench.TaskInputs) -> nbench.Submission:
        def fill(trials: int, neurons: int) -> np.ndarray:
            return np.full((trials, inputs.n_bins, neurons), self.rate)

        return nbench.Submission(inputs.group, fill(inputs.n_train, inputs.n_heldin),
                                 fill(inputs.n_train, inputs.n_heldout), fill(inputs.n_eval, inputs.n_heldin),
                                 fill(inputs.n_eval, inputs.n_heldout))


def test_run_a_model_class_then_score_its_predictions_in_memory(tmp_path: Path) -> None:
    result = nbench.run("chaotic_rnn", Constant, out=tmp_path, log=None)
    assert result.record.model["name"] == "constant_test" and result.record.model["config"] == {}
    assert result.record.model["origin"] != "nbench"  # the module of the class
    [scored] = nbench.score(result.submission, task="chaotic_rnn")
    assert scored.kind == "score" and scored.submission["path"] is None
    assert {k: v.value for k, v in scored.metrics.items()} == {k: v.value for k, v in result.record.metrics.items()}
    assert [r.run_id for r in nbench.load_records(tmp_path)] == [result.record.run_id]
    assert nbench.load_records([result.record_path])[0].run_key == result.record.run_key


def test_what_a_user_prints_is_one_short_line() -> None:
    task = nbench.get_task("lorenz")
    prepared = task.build("test")
    [view] = prepared.views
    result = nbench.run("lorenz", "mean_rate", log=None)
    model = nbench.get_model("mean_rate")
    shown = [(task, "'lorenz'"), (prepared, "PreparedTask('lorenz', phase='test': 1 view(s) over 1 session(s))"),
             (view, "6 hidden units"), (view.inputs, "1248 train / 312 eval trials x 50 bins"),
             (view.targets, "eval_spikes_heldout(312, 50, 6)"), (result.submission, "eval_rates_heldout(312, 50, 6)"),
             (result.record, "mean_rate seed 0: co-bps"), (model(model.Config()), "mean_rate")]
    for obj, expected in shown:
        text = repr(obj)
        assert expected in text and "\n" not in text and len(text) < 400, text


def test_a_model_class_may_not_take_a_registered_name() -> None:
    taken = type("Taken", (Constant,), {"name": "smoothing"})
    with pytest.raises(ConfigError, match="model name 'smoothing' is taken by a registered model"):
        nbench.run("lorenz", taken)
    again = type("Constant", (Constant,), {})  # a notebook cell run twice: the new class replaces the old
    registry.register_class("models", "constant_test", Constant)
    registry.register_class("models", "constant_test", again)
    assert nbench.get_model("constant_test") is again


def test_run_report_draws_the_predictions_against_the_data(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                                          ) -> None:
    out, _ = cli(["run", "-t", "lorenz", "-m", "smoothing", "--out", str(tmp_path / "runs"), "--report",
                   str(tmp_path / "rep")], capsys)
    page = (tmp_path / "rep" / "index.html").read_text()
    assert f"report: {tmp_path / 'rep' / 'index.html'}" in out
    assert page.count("<svg") == 4 and "Predicted against true rates" in page and "Trial-averaged" in page
    assert "co-bps of each unit (6 units)" in page and "lorenz - smoothing, seed 0" in page
    [record] = nbench.load_records(tmp_path / "runs")
    out, _ = cli(["report", str(record_path := next((tmp_path / "runs").rglob("*.json"))), "--out",
                   str(tmp_path / "rep2")], capsys)
    page = (tmp_path / "rep2" / "index.html").read_text()
    assert page.count("<svg") == 1 and "No predictions" in page  # the record alone: per-unit values only
    assert record_path.exists() and record.neurons["lorenz"]["co-bps"]


def test_report_of_a_scored_file_finds_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sub = tmp_path / "mean.h5"
    cli(["run", "-t", "chaotic_rnn", "-m", "mean_rate", "--out", str(tmp_path / "runs"), "--save-submission",
          str(sub)], capsys)
    cli(["score", str(sub), "--out", str(tmp_path / "scores")], capsys)
    record = next((tmp_path / "scores").rglob("*.json"))
    cli(["report", str(record)], capsys)
    page = (record.parent / f"{record.stem}-report" / "index.html").read_text()
    assert page.count("<svg") == 4 and "chaotic_rnn - mean" in page
    _, err = cli(["report", str(record), "--submission", str(tmp_path / "missing.h5")], capsys, code=2)
    assert err.startswith("error: ") and "missing.h5" in err and err.count("\n") == 1
