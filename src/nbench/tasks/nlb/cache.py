"""Find, check and cache an NLB dataset's arrays in the data directory.

Files live where ``nbench data fetch`` puts them (:func:`nbench.data.dandisets.nlb_files`). Built arrays are
cached in ``<data dir>/cache/nlb/`` under a key made of the files' names, sizes and modification times, the
build parameters and the cache version, so a second ``prepare`` is a read of one HDF5 file. Cache files are
written atomically.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from nbench import __version__
from nbench.data.cache import data_dir as resolve_data_dir
from nbench.data.cache import read_verified, seal_cache
from nbench.data.dandi_fetch import verify_files
from nbench.data.dandisets import NlbDandiset, nlb_dandiset, nlb_files
from nbench.data.nlb.nwbread import NWBContent
from nbench.data.nlb.params import PARAMS, group_name
from nbench.data.nlb.recording import load_recording
from nbench.data.recording import TrialSpikes
from nbench.errors import DataError
from nbench.io import atomic_path, file_sha256
from nbench.tasks.nlb.build import NLBArrays, build_arrays

CACHE_VERSION = "2"  # 2: held-in spike times of the input windows
LIST_KEYS = ("eval_cond_idx", "train_cond_idx")
EVENT_KEYS = ("trial", "time_ms", "unit")


def phase_files(dataset: str, phase: str, data_dir: str | Path | None) -> list[Path]:
    """The NWB files a phase needs (val: train file; test: test and train files), or a one-line error naming
    the command that fetches them."""
    files = nlb_files(dataset, data_dir)
    needed = [files["train"]] if phase == "val" else [files["test"], files["train"]]
    missing = [p for p in needed if not p.is_file()]
    if missing:
        flag = f" --data-dir {data_dir}" if data_dir else ""
        raise DataError(f"{dataset}: {missing[0]} not found; run `nbench data fetch {dataset}{flag}` first")
    return needed


def identity_check(spec: NlbDandiset) -> Callable[[NWBContent], None]:
    """A check refusing files of another recording: subject and session must be the dandiset's."""

    def check(content: NWBContent) -> None:
        if content.subject_id != spec.subject or content.session_id != spec.session_id:
            raise DataError(f"{content.path}: recording of subject {content.subject_id!r}, session "
                            f"{content.session_id!r}; {spec.name} (DANDI {spec.dandiset_id}) is subject "
                            f"{spec.subject!r}, session {spec.session_id!r}")

    return check


def load_arrays(dataset: str, phase: str, bin_ms: int, data_dir: str | Path | None = None,
                use_cache: bool = True) -> tuple[NLBArrays, dict[str, Any]]:
    """Inputs and (val phase) targets of ``dataset`` at ``bin_ms``, from the cache or built from the NWB files.

    Returns the arrays and provenance (source, version, file sha256s).
    """
    spec = nlb_dandiset(dataset)
    files = phase_files(dataset, phase, data_dir)
    verify_files(dataset, files, data_dir)
    key = _cache_key(dataset, phase, bin_ms, files)
    path = resolve_data_dir(data_dir) / "cache" / "nlb" / f"{group_name(dataset, bin_ms)}-{phase}-{key}.h5"
    cached = read_verified(path, read_cache) if use_cache else None
    if cached is not None:
        return cached
    rec = load_recording(files, identity_check(spec), dataset)
    arrays = build_arrays(PARAMS[dataset], rec, phase, bin_ms, f"{dataset} ({phase}, {bin_ms} ms)")
    provenance = {"source": f"DANDI:{spec.dandiset_id}/{spec.version}", "version": spec.version,
                  "sha256": {p.name: file_sha256(p) for p in files}}
    if use_cache:
        write_cache(path, arrays, provenance)
        seal_cache(path)
    return arrays, provenance


def _cache_key(dataset: str, phase: str, bin_ms: int, files: list[Path]) -> str:
    stats = [(p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in files]
    params = json.dumps(asdict(PARAMS[dataset]), sort_keys=True, default=str)
    blob = json.dumps([CACHE_VERSION, __version__, dataset, phase, bin_ms, stats, params])
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def write_cache(path: Path, arrays: NLBArrays, provenance: dict[str, Any]) -> None:
    """Write ``arrays`` to ``path`` atomically."""
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as h5:
        h5.attrs["provenance"] = json.dumps(provenance)
        for name, values in (("inputs", arrays.inputs), ("targets", arrays.targets)):
            group = h5.create_group(name)
            for key, value in values.items():
                if key in LIST_KEYS:
                    ds = group.create_dataset(key, (len(value),), dtype=h5py.vlen_dtype(np.int64))
                    for i, idx in enumerate(value):
                        ds[i] = idx
                else:
                    group.create_dataset(key, data=value)
        meta = h5.create_group("meta")
        for key in ("heldin_ids", "heldout_ids", "train_trial_ids", "eval_trial_ids", "train_conditions"):
            value = getattr(arrays, key)
            if value is not None:
                meta.create_dataset(key, data=value)
        for split, times in arrays.spike_times.items():
            group = h5.create_group(f"spike_times/{split}")
            for key in EVENT_KEYS:
                group.create_dataset(key, data=getattr(times, key), compression="gzip")


def read_cache(path: Path) -> tuple[NLBArrays, dict[str, Any]]:
    """Read a cache file written by :func:`write_cache`."""
    with h5py.File(path, "r") as h5:
        inputs = {k: v[()] for k, v in h5["inputs"].items()}
        targets = {k: ([np.asarray(x) for x in v[()]] if k in LIST_KEYS else v[()])
                   for k, v in h5["targets"].items()}
        meta = {k: v[()] for k, v in h5["meta"].items()}
        provenance = json.loads(h5.attrs["provenance"])
        times = {split: TrialSpikes(*(group[key][()] for key in EVENT_KEYS))
                 for split, group in h5["spike_times"].items()}
    arrays = NLBArrays(inputs, targets, meta["heldin_ids"], meta["heldout_ids"], meta["train_trial_ids"],
                       meta["eval_trial_ids"], meta.get("train_conditions"), spike_times=times)
    return arrays, provenance
