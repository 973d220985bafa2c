"""The genuine NLB MC_Maze_Small files: the DANDI 000140 test NWB in ../shared/data, and (when fetched into the
data directory; ``.ci/run`` fetches it where DANDI is reachable) the train NWB against the real nlb_tools val
tensors shipped beside the test file."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from nbench.data.nlb import PARAMS, load_recording
from nbench.data.nlb.nwbread import read_nwb
from nbench.tasks.nlb.build import eval_input

TEST_NWB = "nlb_mc_maze_small/sub-Jenkins_ses-small_desc-test_ecephys.nwb"
VAL_TENSORS = "nlb_mc_maze_small/mc_maze_small_val_5ms.h5"


@pytest.mark.parametrize("bin_ms", [5, 20])
def test_real_test_file_eval_inputs(shared_data: Path, bin_ms: int) -> None:
    path = shared_data / TEST_NWB
    content = read_nwb(path)
    assert (content.subject_id, content.session_id, content.heldout) == ("Jenkins", "small", None)
    tensor, trial_ids = eval_input(PARAMS["mc_maze_small"], load_recording([path]), bin_ms, ("test",), "real")
    assert tensor.shape == (100, 700 // bin_ms, 107)
    np.testing.assert_array_equal(trial_ids, np.arange(100))
    with h5py.File(path, "r") as h5:
        n_spikes = len(h5["units/spike_times"])
    assert np.nansum(tensor) == n_spikes == 32_897, "every spike of the file lies in a test window"
    assert not np.isnan(tensor).any()


@pytest.mark.parametrize("bin_ms", [5, 20])
@pytest.mark.usefixtures("nlb_tools")
def test_real_test_file_equals_nlb_tools(shared_data: Path, bin_ms: int) -> None:
    from fixtures.nlb_oracle import sorted_loads
    from nlb_tools.make_tensors import make_eval_input_tensors
    from nlb_tools.nwb_interface import NWBDataset

    path = shared_data / TEST_NWB
    with sorted_loads():
        ds = NWBDataset(str(path))
    ds.resample(bin_ms)
    ref = make_eval_input_tensors(ds, "mc_maze_small", "test", save_file=False)["eval_spikes_heldin"]
    ours, _ = eval_input(PARAMS["mc_maze_small"], load_recording([path]), bin_ms, ("test",), "real")
    np.testing.assert_array_equal(ours, ref.astype(np.float32))


def test_real_train_file_equals_published_val_tensors(shared_data: Path, fetched_train: Path) -> None:
    """Needs the real train file that ``nbench data fetch mc_maze_small`` puts in the data directory."""
    from nbench.tasks.nlb import build_arrays

    ours = build_arrays(PARAMS["mc_maze_small"], load_recording([fetched_train]), "val", 5, "real", with_targets=False)
    with h5py.File(shared_data / VAL_TENSORS, "r") as h5:
        for key in ("train_spikes_heldin", "train_spikes_heldout", "train_spikes_heldin_forward",
                    "train_spikes_heldout_forward", "eval_spikes_heldin"):
            np.testing.assert_array_equal(ours.inputs[key], h5[key][()], err_msg=key)
        np.testing.assert_allclose(ours.inputs["train_behavior"], h5["train_behavior"][()], rtol=1e-6)
