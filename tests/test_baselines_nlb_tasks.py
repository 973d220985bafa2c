"""Smoothing and GPFA through ``nbench run`` on NLB tasks (synthetic NWB fixtures laid out as DANDI's files)."""

from __future__ import annotations

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


TASKS = ("mc_maze_small", "mc_maze_small_20", "dmfc_rsg")


@pytest.fixture(scope="module")
def mean_rate_co_bps(data_dir: Path) -> dict[str, float]:
    """The yardstick: co-bps of each held-out neuron's training mean, per task."""
    return {task: run(RunSpec.create(task, "mean_rate", phase="val", data_dir=str(data_dir)), None).record
            .metrics["co-bps"].value for task in TASKS}


# The fixtures carry little structure: measured co-bps margins over mean_rate are 0.012-0.050 (smoothing) and
# 0.035-0.054 (GPFA, 5 EM iterations).
@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize(("model", "overrides"), [
    ("smoothing", {}),
    ("gpfa", {"latent_dim": 3, "em_max_iters": 5}),  # the fixtures have only 12 held-in neurons
])
def test_runs_and_beats_mean_rate_on_nlb_tasks(data_dir: Path, mean_rate_co_bps: dict[str, float], task: str,
                                               model: str, overrides: dict) -> None:
    record = run(RunSpec.create(task, model, phase="val", overrides=overrides, data_dir=str(data_dir)), None).record
    assert record.status == "ok" and "fp-bps" in record.metrics
    assert record.metrics["co-bps"].value > mean_rate_co_bps[task] + 0.005, (record.metrics["co-bps"], mean_rate_co_bps)
    if model == "smoothing":  # NLB's per-dataset settings, the same at 20 ms
        expected = {"mc_maze_small": (60.0, 0.1), "mc_maze_small_20": (60.0, 0.1), "dmfc_rsg": (60.0, 0.001)}[task]
        assert (record.model["config"]["kern_sd_ms"], record.model["config"]["alpha"]) == expected
