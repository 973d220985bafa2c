"""NLB tensors and targets built by nbench equal nlb_tools' on synthetic NWB files of every layout.

Spike counts, behavior, forward windows, decode masks, jitter, condition indices and trial order are compared
exactly; PSTHs (float64 sums in another order) to 1e-12 relative.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import import_oracle
from fixtures.nlb_nwb import KINDS, NLB_NAMES, fixture_files

from nbench.data.nlb import PARAMS, load_recording
from nbench.tasks.nlb import build_arrays

import_oracle("nlb_tools.make_tensors")
pytestmark = pytest.mark.oracle
EXACT_INPUTS = ("train_spikes_heldin", "train_spikes_heldout", "train_behavior", "train_spikes_heldin_forward",
                "train_spikes_heldout_forward", "eval_spikes_heldin")


def _ours(kind: str, phase: str, bin_ms: int):
    files = fixture_files(kind)
    paths = [files["train"]] if phase == "val" else [files["test"], files["train"]]
    return build_arrays(PARAMS[NLB_NAMES[kind]], load_recording(paths), phase, bin_ms, kind)


def _oracle(kind: str, phase: str, bin_ms: int) -> dict:
    from fixtures.nlb_oracle import oracle_arrays

    files = fixture_files(kind)
    return oracle_arrays(NLB_NAMES[kind], files["train"] if phase == "val" else files["train"].parent, phase,
                         bin_ms)


def _same(name: str, ours: np.ndarray, ref: np.ndarray) -> None:
    ref = np.asarray(ref)
    assert ours.shape == ref.shape, f"{name}: shape {ours.shape} != {ref.shape}"
    np.testing.assert_array_equal(ours, ref.astype(ours.dtype), err_msg=name)


@pytest.mark.parametrize("bin_ms", [5, 20])
@pytest.mark.parametrize("phase", ["val", "test"])
@pytest.mark.parametrize("kind", KINDS)
def test_arrays_equal_nlb_tools(kind: str, phase: str, bin_ms: int) -> None:
    ours, ref = _ours(kind, phase, bin_ms), _oracle(kind, phase, bin_ms)
    for key in EXACT_INPUTS:
        _same(key, ours.inputs[key], ref[key])
    if phase == "test":
        assert ours.targets == {}
        return
    targets = ref["targets"]
    assert set(ours.targets) == set(targets), "target keys"
    for key, value in targets.items():
        if key in ("eval_cond_idx", "train_cond_idx"):
            assert len(ours.targets[key]) == len(value)
            for mine, theirs in zip(ours.targets[key], value, strict=True):
                np.testing.assert_array_equal(mine, theirs, err_msg=key)
        elif key == "psth":
            assert ours.targets[key].shape == value.shape
            np.testing.assert_array_equal(np.isnan(ours.targets[key]), np.isnan(value))
            np.testing.assert_allclose(ours.targets[key], value, rtol=1e-12, atol=1e-15, err_msg=key)
        else:
            _same(key, ours.targets[key], value)
