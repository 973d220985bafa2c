"""Parallel chunk reading gives exactly what h5py reads, for every layout, and refuses damaged chunks."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from nbench import h5chunks
from nbench.h5chunks import read_into

LAYOUTS = {
    "gzip, edge chunks": dict(chunks=(7, 5, 3), compression="gzip", compression_opts=4),
    "shuffle + gzip": dict(chunks=(4, 6, 5), compression="gzip", shuffle=True),
    "contiguous": dict(),
    "chunked, no filter": dict(chunks=(8, 8, 8)),
    "lzf": dict(chunks=(8, 8, 8), compression="lzf"),
}


def _write(path: Path, data: np.ndarray, **layout: object) -> None:
    with h5py.File(path, "w") as h5:
        h5.create_dataset("x", data=data, **layout)


@pytest.mark.parametrize("name", list(LAYOUTS))
@pytest.mark.parametrize("dtype", ["<f4", ">f4", "<f8", "<i2"])
def test_same_values_as_h5py(tmp_path: Path, name: str, dtype: str) -> None:
    rng = np.random.default_rng(0)
    data = (rng.random((30, 17, 11)) * 100).astype(dtype)
    _write(tmp_path / "a.h5", data, **LAYOUTS[name])
    with h5py.File(tmp_path / "a.h5", "r") as h5:
        fast = h5chunks._chunk_plan(h5["x"]) is not None
        assert fast == ("gzip" in name)  # the others go through h5py
        out = np.full((30, 17, 11), np.nan)
        read_into(h5["x"], out)
        np.testing.assert_array_equal(out, h5["x"][()].astype(np.float64))


@pytest.mark.parametrize("userblock", [512, 4096])
def test_file_with_a_user_block_reads_as_h5py(tmp_path: Path, userblock: int) -> None:
    data = np.random.default_rng(2).random((30, 17, 11))
    with h5py.File(tmp_path / "a.h5", "w", userblock_size=userblock) as h5:
        h5.create_dataset("x", data=data, chunks=(7, 5, 3), compression="gzip")
    with h5py.File(tmp_path / "a.h5", "r") as h5:
        out = np.empty_like(data)
        read_into(h5["x"], out)
    np.testing.assert_array_equal(out, data)


def test_reads_into_a_strided_part_of_a_buffer(tmp_path: Path) -> None:
    data = np.random.default_rng(1).random((50, 20, 9)).astype(np.float32)
    _write(tmp_path / "a.h5", data, chunks=(6, 7, 4), compression="gzip")
    both = np.full((50, 20, 13), -1.0)
    with h5py.File(tmp_path / "a.h5", "r") as h5:
        read_into(h5["x"], both, np.s_[..., 4:])
    np.testing.assert_array_equal(both[..., 4:], data.astype(np.float64))
    assert (both[..., :4] == -1).all()


def test_unwritten_chunks_read_as_fill_value(tmp_path: Path) -> None:
    with h5py.File(tmp_path / "a.h5", "w") as h5:
        dset = h5.create_dataset("x", shape=(40, 40), dtype="f4", chunks=(5, 5), compression="gzip",
                                 fillvalue=7.0)
        dset[:5, :5] = 1.0
    with h5py.File(tmp_path / "a.h5", "r") as h5:
        out = np.empty((40, 40))
        assert h5chunks._chunk_plan(h5["x"]) is None
        read_into(h5["x"], out)
    assert (out[:5, :5] == 1).all() and (out[5:] == 7).all()


def test_many_chunks_use_threads_and_match(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = np.random.default_rng(2).random((64, 64, 8)).astype(np.float32)
    _write(tmp_path / "a.h5", data, chunks=(4, 4, 8), compression="gzip")
    monkeypatch.setattr(h5chunks, "MAX_THREADS", 3)
    monkeypatch.setattr(h5chunks.os, "cpu_count", lambda: 3)
    out = np.empty(data.shape)
    with h5py.File(tmp_path / "a.h5", "r") as h5:
        read_into(h5["x"], out)
    np.testing.assert_array_equal(out, data)


def test_damaged_chunk_is_an_oserror(tmp_path: Path) -> None:
    data = np.random.default_rng(3).random((64, 64)).astype(np.float32)
    _write(tmp_path / "a.h5", data, chunks=(16, 16), compression="gzip")
    with h5py.File(tmp_path / "a.h5", "r") as h5:
        infos = []
        h5["x"].id.chunk_iter(infos.append)
    raw = bytearray((tmp_path / "a.h5").read_bytes())
    start = infos[3].byte_offset + 10
    raw[start : start + 40] = bytes(40)
    (tmp_path / "a.h5").write_bytes(bytes(raw))
    with h5py.File(tmp_path / "a.h5", "r") as h5, pytest.raises(OSError, match=r"chunk at \("):
        read_into(h5["x"], np.empty((64, 64)))


def test_oversized_chunk_is_not_inflated_beyond_its_size(tmp_path: Path) -> None:
    """A chunk whose stream inflates to more than the chunk holds is refused (no decompression bomb)."""
    decode = h5chunks._chunk_decoder(_FakeDataset(), shuffled=False)
    import zlib

    with pytest.raises(OSError, match="wrong size"):
        decode(zlib.compress(bytes(10**6)), (0, 0))
    np.testing.assert_array_equal(decode(zlib.compress(bytes(16)), (0, 0)), np.zeros((2, 2), dtype="<f4"))


class _FakeDataset:
    dtype = np.dtype("<f4")
    chunks = (2, 2)
