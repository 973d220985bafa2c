"""nlb_tools' own regression numbers on MC_Maze_Large val at 5 ms (``nlb_tools/tests/test_nlb.py``), with the
tensors and targets built by nbench (``reference/nlb.md`` 6.2, item 1). Needs DANDI 000138: network only."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import scipy.signal
from conftest import USER_DATA_DIR

from nbench.data.dandisets import nlb_dandiset, nlb_files
from nbench.data.nlb import PARAMS, load_recording
from nbench.tasks.nlb import build_arrays

pytestmark = pytest.mark.network
EXPECTED = {"[500] co-bps": 0.1528, "[500] vel R2": 0.5224, "[500] psth R2": 0.3871}


def _train_file(tmp_path: Path) -> Path:
    path = nlb_files("mc_maze_large", USER_DATA_DIR)["train"]  # reuse a `nbench data fetch mc_maze_large` copy
    if path.is_file():
        return path
    from dandi.download import download

    spec = nlb_dandiset("mc_maze_large")
    download([f"https://dandiarchive.org/dandiset/{spec.dandiset_id}/{spec.version}"], tmp_path,
             existing="refresh")
    return next(tmp_path.rglob(Path(spec.train_path).name))


def _ridge(train_x: np.ndarray, eval_x: np.ndarray, train_y: np.ndarray, alpha: float):
    """Closed-form ridge with a bias column, as the regression test computes it."""
    train_x = np.concatenate([train_x, np.ones((len(train_x), 1))], axis=1)
    eval_x = np.concatenate([eval_x, np.ones((len(eval_x), 1))], axis=1)
    w = np.linalg.pinv(train_x.T @ train_x + alpha * np.eye(train_x.shape[1])) @ (train_x.T @ train_y)
    return train_x @ w, eval_x @ w


def test_mc_maze_large_val_golden(tmp_path: Path, nlb_tools: ModuleType) -> None:
    arrays = build_arrays(PARAMS["mc_maze_large"], load_recording([_train_file(tmp_path)]), "val", 5,
                          "mc_maze_large")
    x = arrays.inputs
    window = scipy.signal.windows.gaussian(int(6 * 50 / 5), int(50 / 5), sym=True)
    window /= window.sum()

    def smooth(a: np.ndarray) -> np.ndarray:
        return np.apply_along_axis(lambda v: np.convolve(v, window, "same"), 1, a.astype(np.float64))

    train_in, eval_in, train_out = smooth(x["train_spikes_heldin"]), smooth(x["eval_spikes_heldin"]), \
        smooth(x["train_spikes_heldout"])
    flat = lambda a: a.reshape(-1, a.shape[-1])  # noqa: E731
    train_pred, eval_pred = _ridge(np.log(flat(train_in) + 1e-4), np.log(flat(eval_in) + 1e-4), flat(train_out),
                                   1e6)
    n_bins, n_out = train_out.shape[1:]
    submission = {"mc_maze_large": {
        "train_rates_heldin": train_in, "eval_rates_heldin": eval_in,
        "train_rates_heldout": np.clip(train_pred.reshape(-1, n_bins, n_out), 1e-9, 1e20),
        "eval_rates_heldout": np.clip(eval_pred.reshape(-1, n_bins, n_out), 1e-9, 1e20)}}
    targets = dict(arrays.targets)
    cond_idx = np.empty(len(targets["eval_cond_idx"]), dtype=object)
    cond_idx[:] = targets["eval_cond_idx"]
    targets["eval_cond_idx"] = cond_idx
    result = nlb_tools.evaluation.evaluate({"mc_maze_large": targets}, submission)[0]["mc_maze_scaling_split"]
    for key, value in EXPECTED.items():
        assert abs(result[key] - value) < 1e-4, (key, result[key])
