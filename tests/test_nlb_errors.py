"""Bad NWB input gets one clear line naming the file, never a traceback or a half-written cache."""

from __future__ import annotations

import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest
from fixtures.nlb_nwb import DANDI_DIRS, fixture_data_dir, fixture_files, write_dataset

from nbench.data.nlb import load_recording
from nbench.data.nlb.nwbread import read_nwb
from nbench.errors import DataError
from nbench.tasks.nlb import NLBTask


def _one_line(exc: pytest.ExceptionInfo, path: Path, *words: str) -> None:
    message = str(exc.value)
    assert "\n" not in message and str(path) in message, message
    for word in words:
        assert word in message, message


def test_not_hdf5(tmp_path: Path) -> None:
    path = tmp_path / "notes.nwb"
    path.write_text("this is not an NWB file\n")
    with pytest.raises(DataError) as exc:
        read_nwb(path)
    _one_line(exc, path, "not an HDF5 file")


def test_truncated_file(tmp_path: Path) -> None:
    source = fixture_files("maze")["train"]
    path = tmp_path / "truncated.nwb"
    path.write_bytes(source.read_bytes()[: source.stat().st_size // 3])
    with pytest.raises(DataError) as exc:
        read_nwb(path)
    _one_line(exc, path, "truncated")


def test_corrupt_file(tmp_path: Path) -> None:
    data = bytearray(fixture_files("rtt")["train"].read_bytes())
    rng = np.random.default_rng(0)
    data[2048:] = rng.integers(0, 256, len(data) - 2048, dtype=np.uint8).tobytes()  # keep the superblock
    path = tmp_path / "corrupt.nwb"
    path.write_bytes(bytes(data))
    with pytest.raises(DataError) as exc:
        read_nwb(path)
    _one_line(exc, path)


def test_hdf5_but_not_nwb(tmp_path: Path) -> None:
    path = tmp_path / "plain.h5"
    with h5py.File(path, "w") as h5:
        h5["spikes"] = np.zeros(3)
    with pytest.raises(DataError) as exc:
        read_nwb(path)
    _one_line(exc, path, "not an NWB file")


def test_nwb_but_not_nlb(tmp_path: Path) -> None:
    path = tmp_path / "no_heldout.nwb"
    shutil.copy(fixture_files("dmfc")["test"], path)
    with h5py.File(path, "a") as h5:
        del h5["units/heldout"]
    with pytest.raises(DataError) as exc:
        read_nwb(path)
    _one_line(exc, path, "not an NLB NWB file", "heldout")


def test_external_link_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "linked.nwb"
    shutil.copy(fixture_files("area2")["test"], path)
    with h5py.File(path, "a") as h5:
        h5["analysis/elsewhere"] = h5py.ExternalLink("/etc/passwd.h5", "/data")
    with pytest.raises(DataError) as exc:
        read_nwb(path)
    _one_line(exc, path, "external link")


def test_file_of_another_dandiset(tmp_path: Path) -> None:
    """An MC_RTT file where MC_Maze_Small belongs is caught by its subject and session."""
    target = tmp_path / "dandi" / DANDI_DIRS["maze"] / "sub-Jenkins"
    target.mkdir(parents=True)
    wrong = target / "sub-Jenkins_ses-small_desc-train_behavior+ecephys.nwb"
    shutil.copy(fixture_files("rtt")["train"], wrong)
    with pytest.raises(DataError) as exc:
        NLBTask("mc_maze_small", data_dir=tmp_path).prepare("val")
    _one_line(exc, wrong, "subject 'Indy'", "mc_maze_small", "'Jenkins'")
    assert not (tmp_path / "cache").exists() or not list((tmp_path / "cache").rglob("*.h5"))


def test_test_file_with_other_units(tmp_path: Path) -> None:
    other = write_dataset("maze", tmp_path / "other", seed=7)["test"]
    with pytest.raises(DataError) as exc:
        load_recording([other, fixture_files("maze")["train"]])
    _one_line(exc, fixture_files("maze")["train"], "not from one NLB dataset")


def test_fixture_directory_is_untouched() -> None:
    assert not list(fixture_data_dir().rglob("*.tmp"))
