"""Read gzip-chunked HDF5 datasets with the chunks inflated in parallel threads.

NLB-layout files (``nlb_tools.make_tensors.save_to_h5``, ``nbench.submission.write_submission``) store every
array as many small gzip chunks. HDF5 inflates them one after another in the calling thread, and inflating is
almost all of the time spent reading a submission. Here the chunk addresses come from HDF5, the compressed
bytes are read with ``os.pread`` and inflated by threads (zlib and ISA-L release the GIL; ISA-L, when the
``isal`` package is installed, inflates about 1.5x faster than zlib), and each chunk is cast straight into the
destination array.

Only the plain layout is read this way: a file opened with HDF5's default driver and without a user block,
every chunk stored and filtered by deflate (optionally after shuffle), a numeric dtype. Anything else goes
through ``h5py`` unchanged, so the result is always what ``h5py`` would return. A chunk whose data do not
inflate to exactly the chunk's size raises ``OSError`` (a damaged file), without inflating more than that size.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import h5py
import numpy as np

try:  # ISA-L's inflate is a faster drop-in for zlib's
    from isal import isal_zlib as _inflate_lib
except ImportError:  # pragma: no cover - depends on the environment
    _inflate_lib = zlib

DEFLATE, SHUFFLE = 1, 2
MAX_THREADS = 4


def read_into(dset: h5py.Dataset, out: np.ndarray, where: Any = Ellipsis) -> None:
    """Read all of ``dset`` into ``out[where]`` (same shape; the dtype is cast on the way, as by HDF5).

    Raises
    ------
    OSError, ValueError
        The data cannot be read (damaged or truncated file).
    """
    if dset.size == 0:
        return
    plan = _chunk_plan(dset)
    if plan is None:
        dset.read_direct(out, dest_sel=where)
        return
    view = out[where]
    if view.shape != dset.shape:
        raise ValueError(f"destination shape {view.shape} != dataset shape {dset.shape}")
    inflate = _chunk_decoder(dset, plan["shuffle"])
    chunks = plan["chunks"]
    n_threads = max(1, min(MAX_THREADS, os.cpu_count() or 1, len(chunks) // 8))
    batches = [chunks[i::n_threads] for i in range(n_threads)]
    with open(dset.file.filename, "rb") as fh:
        fd = fh.fileno()

        def run(batch: list[tuple[tuple[int, ...], int, int]]) -> None:
            for offset, address, size in batch:
                data = inflate(os.pread(fd, size, address), offset)
                region = tuple(slice(o, min(o + c, s)) for o, c, s in zip(offset, dset.chunks, dset.shape,
                                                                            strict=True))
                view[region] = data[tuple(slice(0, r.stop - r.start) for r in region)]

        if n_threads == 1:
            run(chunks)
            return
        with ThreadPoolExecutor(n_threads) as pool:
            for result in [pool.submit(run, batch) for batch in batches]:
                result.result()


def _chunk_plan(dset: h5py.Dataset) -> dict[str, Any] | None:
    """Chunk offsets, file addresses and sizes when the fast path applies, else None."""
    # A user block shifts the file's addresses, and HDF5 versions disagree on whether chunk addresses include it.
    if (dset.chunks is None or dset.dtype.kind not in "fiu" or dset.file.driver != "sec2" or dset.external
            or dset.file.userblock_size):
        return None
    plist = dset.id.get_create_plist()
    filters = [plist.get_filter(i)[0] for i in range(plist.get_nfilters())]
    if filters not in ([DEFLATE], [SHUFFLE, DEFLATE]):
        return None
    chunks: list[tuple[tuple[int, ...], int, int]] = []

    def visit(info: Any) -> None:
        chunks.append((tuple(info.chunk_offset), info.byte_offset, info.size) if info.filter_mask == 0
                      else None)

    try:
        dset.id.chunk_iter(visit)
    except (AttributeError, NotImplementedError):  # HDF5 older than 1.14: let h5py read it
        return None
    expected = int(np.prod([-(-s // c) for s, c in zip(dset.shape, dset.chunks, strict=True)]))
    if len(chunks) != expected or None in chunks:  # unallocated (fill value) or unfiltered chunks
        return None
    return {"chunks": chunks, "shuffle": filters[0] == SHUFFLE}


def _chunk_decoder(dset: h5py.Dataset, shuffled: bool) -> Callable[[bytes, tuple[int, ...]], np.ndarray]:
    """A function from a chunk's stored bytes to the chunk as a (chunk-shaped) array."""
    dtype, shape = dset.dtype, dset.chunks
    size = int(np.prod(shape)) * dtype.itemsize

    def decode(raw: bytes, offset: tuple[int, ...]) -> np.ndarray:
        try:
            inflater = _inflate_lib.decompressobj()
            data = inflater.decompress(raw, size)
            complete = len(data) == size and not inflater.unconsumed_tail
        except (zlib.error, _inflate_lib.error) as exc:
            raise OSError(f"chunk at {offset} does not inflate ({exc})") from exc
        if not complete:
            raise OSError(f"chunk at {offset} inflates to the wrong size")
        flat = np.frombuffer(data, dtype=np.uint8)
        if shuffled and dtype.itemsize > 1:  # HDF5's shuffle: byte k of every element stored together
            flat = flat.reshape(dtype.itemsize, -1).T.copy()
        return flat.view(dtype).reshape(shape)

    return decode
