"""Smoothing and GPFA through ``nbench run`` on NLB tasks (synthetic NWB fixtures laid out as DANDI's files)."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pytest
from fixtures.nlb_nwb import DANDI_DIRS, fixture_data_dir

from nbench.runner import RunSpec, run

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::RuntimeWarning")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("nlb")
    for kind in ("maze", "dmfc"):
        shutil.copytree(fixture_data_dir() / "dandi" / DANDI_DIRS[kind], root / "dandi" / DANDI_DIRS[kind])
    return root


@pytest.mark.parametrize("task", ["mc_maze_small", "mc_maze_small_20", "dmfc_rsg"])
@pytest.mark.parametrize(("model", "overrides"), [
    ("smoothing", {}),
    ("gpfa", {"latent_dim": 3, "em_max_iters": 5}),  # the fixtures have only 12 held-in neurons
])
def test_runs_and_scores_on_nlb_tasks(data_dir: Path, task: str, model: str, overrides: dict) -> None:
    record = run(RunSpec.create(task, model, phase="val", overrides=overrides, data_dir=str(data_dir)), None).record
    assert record.status == "ok" and math.isfinite(record.metrics["co-bps"].value)
    assert "fp-bps" in record.metrics
    if model == "smoothing":  # NLB's per-dataset settings, the same at 20 ms
        expected = {"mc_maze_small": (60.0, 0.1), "mc_maze_small_20": (60.0, 0.1), "dmfc_rsg": (60.0, 0.001)}[task]
        assert (record.model["config"]["kern_sd_ms"], record.model["config"]["alpha"]) == expected
