"""Reading a submission file: values exactly as h5py reads them, pairs in one buffer, float32 kept float32."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
from nlb_synth import GroupSpec, make_group, to_submission

from nbench.submission import joined_neurons, write_submission
from nbench.tasks.base import Targets
from nbench.validation import load_submission, spec_from_targets


def _files(tmp_path: Path) -> tuple[Path, dict[str, Targets]]:
    tgt, sub = make_group(GroupSpec("mc_maze", 30, 12, 20, 15, 6, 5, n_conds=3), seed=3)
    targets = {"mc_maze": Targets(group="mc_maze", **{k: v for k, v in tgt.items() if k != "train_cond_idx"})}
    return write_submission(tmp_path / "sub.h5", to_submission("mc_maze", sub)), targets


def test_values_equal_h5py_and_pairs_share_one_buffer(tmp_path: Path) -> None:
    path, targets = _files(tmp_path)
    sub = load_submission(path, {"mc_maze": spec_from_targets(targets["mc_maze"])})["mc_maze"]
    with h5py.File(path, "r") as h5:
        for key, value in sub.arrays().items():
            assert value.dtype == np.float32  # written as float32, kept exact
            np.testing.assert_array_equal(value, h5[f"mc_maze/{key}"][()])
    for split in ("train", "eval", "eval_forward"):
        prefix, suffix = split.split("_")[0], "_forward" if split.endswith("forward") else ""
        heldin = getattr(sub, f"{prefix}_rates_heldin{suffix}")
        heldout = getattr(sub, f"{prefix}_rates_heldout{suffix}")
        joined = joined_neurons(heldin, heldout)
        assert joined is heldin.base  # no copy
        np.testing.assert_array_equal(joined, np.concatenate([heldin, heldout], axis=-1))


def test_joined_neurons_copies_when_not_one_buffer() -> None:
    rng = np.random.default_rng(0)
    heldin, heldout = rng.random((3, 4, 5)), rng.random((3, 4, 2)).astype(np.float32)
    joined = joined_neurons(heldin, heldout)
    assert joined.dtype == np.float64 and not np.shares_memory(joined, heldin)
    np.testing.assert_array_equal(joined, np.concatenate([heldin, heldout.astype(np.float64)], axis=-1))
    both = rng.random((3, 4, 7))
    swapped = joined_neurons(both[..., 5:], both[..., :5])  # adjacent, but in the wrong order
    np.testing.assert_array_equal(swapped, np.concatenate([both[..., 5:], both[..., :5]], axis=-1))
    assert joined_neurons(both[..., :5], both[..., 5:]) is both
