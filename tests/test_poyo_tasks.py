"""POYO through ``nbench run``: refused where only rates are scored, a one-line hint when the extra is missing,
one fit across sessions, and the NLB maze tasks through the NWB path (synthetic NWB fixtures)."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pytest
from fixtures.nlb_nwb import DANDI_DIRS, fixture_data_dir

from nbench import registry
from nbench.cli import main
from nbench.errors import ConfigError
from nbench.runner import RunSpec, run
from nbench.testing.sessions import TinySessionsTask

pytest.importorskip("torch_brain")

TINY = {"dim": 32, "depth": 1, "dim_head": 16, "num_latents_per_step": 4, "ffn_dropout": 0.0, "lin_dropout": 0.0,
        "atn_dropout": 0.0, "lr": 3e-3, "batch_size": 8, "epochs": 2}


@pytest.fixture(autouse=True)
def quiet(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("NBENCH_NUM_THREADS", "1")
    monkeypatch.chdir(tmp_path)  # checkpoints of runs without --out go under ./work


@pytest.fixture()
def tiny_series() -> None:
    registry.register("tasks", "tiny_series", lambda: TinySessionsTask(behavior="series", name="tiny_series"))
    yield
    registry._BUILTIN["tasks"].pop("tiny_series", None)


def _cli_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    err = capsys.readouterr().err.strip()
    assert exc.value.code == 2 and "\n" not in err and "Traceback" not in err
    return err


def test_refused_in_one_line_on_rate_only_tasks(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ConfigError, match="model 'poyo' produces behavior; task 'lorenz' scores rates"):
        run(RunSpec.create("lorenz", "poyo"))
    assert "scores rates" in _cli_error(["run", "--task", "chaotic_rnn", "--model", "poyo"], capsys)


def test_a_missing_extra_names_the_install_command(monkeypatch: pytest.MonkeyPatch, tiny_series: None,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    from importlib.metadata import PackageNotFoundError

    from nbench.baselines.poyo import backend

    def missing(name: str) -> str:
        raise PackageNotFoundError(name)

    monkeypatch.setattr(backend, "version", missing)
    with pytest.raises(ConfigError, match=r"pip install 'nbench\[poyo\]'"):
        run(RunSpec.create("tiny_series", "poyo"))
    assert "torch-brain" in _cli_error(["run", "--task", "tiny_series", "--model", "poyo"], capsys)
    monkeypatch.setattr(backend, "version", lambda name: "0.1.2")
    with pytest.raises(ConfigError, match="needs torch-brain 0.2.1 .* found 0.1.2"):
        run(RunSpec.create("tiny_series", "poyo"))


def test_one_fit_across_sessions_scores_each_session(tiny_series: None) -> None:
    record = run(RunSpec.create("tiny_series", "poyo", overrides=TINY, device="cpu")).record
    assert record.status == "ok" and record.model["fit_info"]["sessions"] == ["s1", "s2"]
    assert set(record.metrics) == {"reach R2 (predicted)"}  # behaviour only: no rate metric
    per_session = [record.breakdown[s]["(all)"]["reach R2 (predicted)"].value for s in ("s1", "s2")]
    assert record.metrics["reach R2 (predicted)"].value == pytest.approx(sum(per_session) / 2)
    assert record.model["fit_info"]["spike_times"].startswith("jittered")
    assert record.cost["device"] == "cpu"


@pytest.mark.parametrize("task", ["mc_maze_small", "mc_maze_small_20"])
def test_nlb_maze_tasks_through_the_nwb_path(task: str, tmp_path: Path) -> None:
    root = tmp_path / "data"
    shutil.copytree(fixture_data_dir() / "dandi" / DANDI_DIRS["maze"], root / "dandi" / DANDI_DIRS["maze"])
    record = run(RunSpec.create(task, "poyo", phase="val", overrides=TINY, device="cpu", data_dir=str(root)),
                 tmp_path / "out").record
    assert set(record.metrics) == {"vel R2 (predicted)"} and math.isfinite(record.metrics["vel R2 (predicted)"].value)
    info = record.model["fit_info"]
    assert info["spike_times"] == "recorded" and info["sessions"] == ["mc_maze_small"] and info["units"] == 12
    assert (tmp_path / "out" / "work").rglob("poyo_checkpoint.pt")
