"""Target files: round trip, and one-line errors for every kind of bad file."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest
from nlb_synth import make_dataset, nlb_like_specs

from nbench.errors import ValidationError
from nbench.tasks.base import Targets
from nbench.tasks.targets_file import read_targets, write_targets


def _targets(seed: int = 0, true_rates: bool = False) -> dict[str, Targets]:
    specs = nlb_like_specs()
    if true_rates:
        from dataclasses import replace

        specs = [replace(s, true_rates=True) for s in specs]
    tgt, _ = make_dataset(specs, seed=seed)
    return {g: Targets(group=g, **{k: v for k, v in d.items() if k != "train_cond_idx"}) for g, d in tgt.items()}


def test_round_trip_keeps_every_field(tmp_path: Path) -> None:
    original = _targets(true_rates=True)
    original["mc_maze"] = Targets(**{**original["mc_maze"].__dict__,
                                     "reference": {"rate R2 heldout (cond-avg ref)": 0.25}})
    path = write_targets(tmp_path / "t.h5", original)
    loaded = read_targets(path)
    assert sorted(loaded) == sorted(original)
    for group, target in original.items():
        got = loaded[group]
        assert got.group == group and got.reference == target.reference
        for key in ("eval_spikes_heldout", "train_behavior", "eval_behavior", "eval_spikes_heldin_forward",
                    "eval_spikes_heldout_forward", "train_decode_mask", "eval_decode_mask", "psth", "eval_jitter",
                    "eval_true_rates_heldin", "eval_true_rates_heldout"):
            want, have = getattr(target, key), getattr(got, key)
            assert (want is None) == (have is None), key
            if want is not None:
                np.testing.assert_array_equal(have, want, err_msg=key)
        if target.eval_cond_idx is not None:
            assert [list(r) for r in got.eval_cond_idx] == [list(r) for r in target.eval_cond_idx]
    assert loaded["area2_bump"].eval_decode_mask.dtype == bool


def test_write_is_atomic(tmp_path: Path) -> None:
    bad = {"g": Targets(group="g", eval_spikes_heldout=np.zeros((2, 3, 1)), eval_cond_idx=[np.array([0]), "x"])}
    with pytest.raises(ValueError):
        write_targets(tmp_path / "t.h5", bad)
    assert list(tmp_path.iterdir()) == []


def _write(path: Path, build) -> Path:  # noqa: ANN001
    with h5py.File(path, "w") as h5:
        g = h5.create_group("mc_maze")
        g["eval_spikes_heldout"] = np.zeros((4, 10, 3), dtype=np.float32)
        g["train_behavior"] = np.zeros((6, 10, 2))
        g["eval_behavior"] = np.zeros((4, 10, 2))
        build(h5, g)
    return path


def _vlen(rows: list[list[int]]) -> np.ndarray:
    out = np.empty(len(rows), dtype=object)
    out[:] = [np.asarray(r, dtype=np.int32) for r in rows]
    return out


def _psth(g: h5py.Group, rows: list[list[int]], n_conds: int = 2, n_neurons: int = 5) -> None:
    g["psth"] = np.zeros((n_conds, 10, n_neurons))
    g.create_dataset("eval_cond_idx", data=_vlen(rows), dtype=h5py.vlen_dtype(np.int32))


BAD_FILES = {
    "missing eval spikes": (lambda h5, g: g.__delitem__("eval_spikes_heldout"), "'eval_spikes_heldout' expected"),
    "wrong ndim": (lambda h5, g: (g.__delitem__("eval_spikes_heldout"),
                                  g.__setitem__("eval_spikes_heldout", np.zeros((4, 10)))), "3 dimensions"),
    "trial mismatch": (lambda h5, g: (g.__delitem__("eval_behavior"), g.__setitem__("eval_behavior",
                                                                                     np.zeros((5, 10, 2)))),
                       "4 eval trials"),
    "bins mismatch": (lambda h5, g: (g.__delitem__("eval_behavior"), g.__setitem__("eval_behavior",
                                                                                    np.zeros((4, 9, 2)))),
                      "layout of train_behavior"),
    "unpaired behaviour": (lambda h5, g: g.__delitem__("train_behavior"), "present together"),
    "unpaired forward": (lambda h5, g: g.__setitem__("eval_spikes_heldin_forward", np.zeros((4, 2, 2))),
                         "present together"),
    "forward neurons": (lambda h5, g: (g.__setitem__("eval_spikes_heldin_forward", np.zeros((4, 2, 2))),
                                       g.__setitem__("eval_spikes_heldout_forward", np.zeros((4, 2, 7)))),
                        "held-out neurons"),
    "mask columns": (lambda h5, g: (g.__setitem__("train_decode_mask", np.ones((6, 2), bool)),
                                    g.__setitem__("eval_decode_mask", np.ones((4, 1), bool))), "mask columns"),
    "mask values": (lambda h5, g: (g.__setitem__("train_decode_mask", np.full((6, 1), 3)),
                                   g.__setitem__("eval_decode_mask", np.ones((4, 1), int))), "booleans"),
    "psth without cond idx": (lambda h5, g: g.__setitem__("psth", np.zeros((2, 10, 5))), "'eval_cond_idx'"),
    "cond idx out of range": (lambda h5, g: _psth(g, [[0, 1], [9]]), "indices in 0..3"),
    "cond idx count": (lambda h5, g: _psth(g, [[0, 1], [2], [3]]), "conditions"),
    "psth neurons": (lambda h5, g: _psth(g, [[0], [1]], n_neurons=2), "at least 3 neurons"),
    "string data": (lambda h5, g: g.__setitem__("eval_jitter", np.array([b"a"] * 4)), "numeric array"),
    "fractional jitter": (lambda h5, g: g.__setitem__("eval_jitter", np.full(4, 0.5)), "whole numbers"),
    "group as key": (lambda h5, g: g.create_group("psth"), "a dataset"),
    "absurd size": (lambda h5, g: g.create_dataset("psth", shape=(10**6, 10, 10**6), dtype="f8", chunks=True),
                    "at most"),
    "empty eval": (lambda h5, g: (g.__delitem__("eval_spikes_heldout"),
                                  g.__setitem__("eval_spikes_heldout", np.zeros((0, 10, 3)))), "at least one"),
    "bad reference": (lambda h5, g: g.create_group("nbench_reference").__setitem__("x", np.zeros(3)),
                      "numeric scalar"),
    "external link": (lambda h5, g: g.__setitem__("psth", h5py.ExternalLink("/etc/passwd", "/x")), "link"),
    "soft link": (lambda h5, g: g.__setitem__("psth", h5py.SoftLink("/mc_maze/eval_behavior")), "link"),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_target_files_give_one_line_errors(case: str, tmp_path: Path) -> None:
    build, fragment = BAD_FILES[case]
    path = _write(tmp_path / "t.h5", build)
    with pytest.raises(ValidationError) as info:
        read_targets(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message
    assert fragment in message, message


def test_not_hdf5_truncated_and_empty(tmp_path: Path) -> None:
    text = tmp_path / "t.h5"
    text.write_text("not hdf5")
    with pytest.raises(ValidationError, match="not an HDF5 file"):
        read_targets(text)
    good = write_targets(tmp_path / "good.h5", _targets())
    cut = tmp_path / "cut.h5"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(ValidationError, match="unreadable|truncated"):
        read_targets(cut)
    with h5py.File(tmp_path / "empty.h5", "w"):
        pass
    with pytest.raises(ValidationError, match="at least one target group"):
        read_targets(tmp_path / "empty.h5")
    with pytest.raises(ValidationError, match="not found"):
        read_targets(tmp_path / "absent.h5")
