"""``nbench data export`` (a task's inputs in NLB's tensor layout) and ``nbench data add`` (files a user already has,
checked offline against the digests that ship with nbench)."""

from __future__ import annotations

import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest
from cli_helpers import cli

from nbench.data.dandi_fetch import dataset_state
from nbench.data.download import file_digest
from nbench.scoring.files import score_file
from nbench.submission import Submission, write_submission
from nbench.tasks import make_task
from nbench.testing.sessions import TinySessionsTask

NWB = "nlb_mc_maze_small/sub-Jenkins_ses-small_desc-test_ecephys.nwb"
HIDDEN = ("eval_spikes_heldout", "eval_spikes_heldin_forward", "eval_spikes_heldout_forward", "eval_behavior",
          "eval_true_rates_heldin", "eval_true_rates_heldout")


def test_export_writes_the_inputs_and_their_order(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "lorenz.h5"
    out, _ = cli(["data", "export", "lorenz", "--out", str(path)], capsys)
    assert "lorenz: 1248 train / 312 eval trials x 50 bins, 23 held-in / 6 held-out neurons" in out
    inputs = make_task("lorenz").build().views[0].inputs
    with h5py.File(path, "r") as h5:
        assert list(h5) == ["lorenz"] and h5.attrs["nbench_task"] == "lorenz" and h5.attrs["nbench_phase"] == "test"
        group = h5["lorenz"]
        for key in ("train_spikes_heldin", "train_spikes_heldout", "eval_spikes_heldin",
                    "train_spikes_heldin_forward", "train_spikes_heldout_forward"):
            np.testing.assert_array_equal(group[key][()], getattr(inputs, key))
        for key in ("train_trial_ids", "eval_trial_ids", "heldin_ids", "heldout_ids"):
            np.testing.assert_array_equal(group[key][()], getattr(inputs, key))
        assert not set(group) & set(HIDDEN)
        eval_ids = group["eval_trial_ids"][()]
    # the eval trials are the test split of the recording, in its order, disjoint from the training trials
    assert len(eval_ids) == 312 and np.all(np.diff(eval_ids) > 0)
    assert not np.intersect1d(eval_ids, inputs.train_trial_ids).size


def test_rates_made_from_an_export_score_like_the_same_rates_in_memory(tmp_path: Path) -> None:
    from nbench.tasks.export import export_task

    path = export_task(make_task("lorenz"), tmp_path / "x.h5", "val")
    with h5py.File(path, "r") as h5:
        group = h5["lorenz"]
        mean = np.nanmean(group["train_spikes_heldout"][()], axis=(0, 1))
        shape = (group["eval_spikes_heldin"].shape[0], group["eval_spikes_heldin"].shape[1], mean.size)
        n_heldin = group["eval_spikes_heldin"].shape[2]
    sub = Submission("lorenz", eval_rates_heldin=np.full(shape[:2] + (n_heldin,), 0.1),
                     eval_rates_heldout=np.broadcast_to(mean, shape).copy())
    write_submission(tmp_path / "sub.h5", sub)
    [record] = score_file(tmp_path / "sub.h5", tasks=("lorenz",), phase="val")
    assert record.task["phase"] == "val" and record.metrics["co-bps"].n == shape[0]


def test_export_of_a_task_of_several_views_has_one_group_each(tmp_path: Path) -> None:
    from nbench.tasks.export import export_task

    task = TinySessionsTask(queries="regions", name="tiny_regions")
    path = export_task(task, tmp_path / "t.h5")
    views = task.build().views
    with h5py.File(path, "r") as h5:
        for view in views:
            group = h5[view.group]
            assert view.group.startswith("tiny_regions/s") and group.attrs["query"] == view.query.name
            np.testing.assert_array_equal(group["heldout_ids"][()], view.inputs.heldout_ids)
            np.testing.assert_array_equal(group["eval_spikes_heldin"][()], view.inputs.eval_spikes_heldin)


def test_add_places_a_dandi_download_verified_offline(tmp_path: Path, shared_data: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    download = tmp_path / "000140" / "sub-Jenkins"  # the dandi client's layout
    download.mkdir(parents=True)
    shutil.copy(shared_data / NWB, download)
    data = tmp_path / "data"
    out, _ = cli(["data", "add", str(tmp_path / "000140"), "--data-dir", str(data)], capsys)
    assert "mc_maze_small test: copied, verified (sha256 pinned in nbench)" in out
    assert dataset_state("mc_maze_small", data)["test"].state == "verified"
    placed = data / "dandi/000140/0.220113.0408/sub-Jenkins/sub-Jenkins_ses-small_desc-test_ecephys.nwb"
    assert file_digest(placed) == "ca8a0bef5f189eafb9db1961d617e065cb461360718fde1c16a538922a6fa5fe"
    out, _ = cli(["data", "add", str(download / Path(NWB).name), "--data-dir", str(data)], capsys)
    assert "already in place" in out


def test_add_refuses_an_altered_file_and_other_files(tmp_path: Path, shared_data: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    altered = tmp_path / Path(NWB).name
    shutil.copy(shared_data / NWB, altered)
    with h5py.File(altered, "r") as h5:  # one bit of a spike time flipped: still an NWB file of mc_maze_small
        offset = h5["units/spike_times"].id.get_offset() + 8 * 1000
    with open(altered, "r+b") as fh:
        fh.seek(offset)
        byte = fh.read(1)
        fh.seek(offset)
        fh.write(bytes([byte[0] ^ 1]))
    data = tmp_path / "data"
    _, err = cli(["data", "add", str(altered), "--data-dir", str(data)], capsys, code=2)
    assert err.startswith(f"error: {altered}: sha256 ") and "differs from the pinned ca8a0bef5f18" in err
    assert not (data / "dandi").exists()
    other = tmp_path / "x.nwb"
    with h5py.File(other, "w") as h5:
        h5.attrs["neurodata_type"] = "NWBFile"
        h5["general/subject/subject_id"] = "Someone"
        h5["general/session_id"] = "1"
    _, err = cli(["data", "add", str(other), "--data-dir", str(data)], capsys, code=2)
    assert "not an NLB'21 NWB file (subject 'Someone', session '1'" in err


def test_add_places_a_file_without_shipped_digest_unverified(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                                             ) -> None:
    """No digest of MC_RTT's files ships with nbench: the file is placed and said to be unverified."""
    path = tmp_path / "sub-Indy_desc-test_ecephys.nwb"
    with h5py.File(path, "w") as h5:
        h5.attrs["neurodata_type"] = "NWBFile"
        h5["general/subject/subject_id"] = "Indy"
        h5["general/session_id"] = "20170202_02"
    data = tmp_path / "data"
    out, _ = cli(["data", "add", str(path), "--data-dir", str(data)], capsys)
    assert "mc_rtt test: copied, unverified: no digest of this file ships with nbench" in " ".join(out.split())
    assert dataset_state("mc_rtt", data)["test"].state == "unverified"
