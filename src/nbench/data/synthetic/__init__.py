"""Embedded synthetic datasets with known ground truth, generated from a seed and cached on disk.

``lorenz``: NDT-like Lorenz data (29 neurons, 20 ms bins, 50 bins, 65 conditions x 24 trials).
``chaotic_rnn``: the LFADS chaotic RNN exactly as NDT used it (50 neurons, 10 ms bins, 100 bins, 130 conditions x
10 replications). Both add a 200 ms forward window and hold out a fixed, seeded 20 % of neurons. True rates are in
**expected spike counts per bin**.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from nbench.data.cache import data_dir, read_verified, seal_cache
from nbench.data.recording import Recording, TrialSegments, TrialTable, UnitTable
from nbench.data.synthetic import chaotic_rnn, lorenz
from nbench.errors import DataError
from nbench.io import atomic_path

GENERATOR_VERSION = 1
_ARRAYS = ("spikes", "true_rates", "forward_spikes", "true_forward_rates", "conditions", "split", "heldout")


@dataclass(frozen=True)
class SyntheticSpec:
    """How one synthetic dataset is generated and split."""

    name: str
    bin_ms: float
    params: Any
    generate: Callable[[Any], dict[str, np.ndarray]]
    n_heldout: int
    assign_splits: Callable[[dict[str, np.ndarray]], np.ndarray]
    description: str


def _chaotic_splits(arrays: dict[str, np.ndarray]) -> np.ndarray:
    # Replications 8-9 are NDT's validation trials; they are our test split (1040 train+val / 260 test).
    rep = arrays["replication"]
    return np.where(rep >= 8, "test", np.where(rep == 7, "val", "train"))


def _lorenz_splits(arrays: dict[str, np.ndarray]) -> np.ndarray:
    # Every 5th trial is NDT's validation set (1248 / 312); it is our test split, the 4th of each 5 is val.
    index = np.arange(arrays["spikes"].shape[0]) % 5
    return np.where(index == 4, "test", np.where(index == 3, "val", "train"))


SPECS: dict[str, SyntheticSpec] = {
    "lorenz": SyntheticSpec("lorenz", 20.0, lorenz.LorenzParams(), lorenz.generate, 6, _lorenz_splits,
                            "NDT-like Lorenz system, 29 neurons, 20 ms bins"),
    "chaotic_rnn": SyntheticSpec("chaotic_rnn", 10.0, chaotic_rnn.ChaoticRNNParams(), chaotic_rnn.generate, 10,
                                 _chaotic_splits, "LFADS chaotic RNN as used by NDT, 50 neurons, 10 ms bins"),
}


def dataset_version(spec: SyntheticSpec) -> str:
    """Version string: generator version plus a hash of the parameters."""
    blob = json.dumps(dataclasses.asdict(spec.params), sort_keys=True).encode()
    return f"v{GENERATOR_VERSION}-{hashlib.sha256(blob).hexdigest()[:10]}"


def load_synthetic(name: str, cache_dir: str | Path | None = None) -> Recording:
    """Load synthetic dataset ``name`` from the cache, generating (and caching) it on first use.

    The recording is trial-cut (binned counts, forward window, true rates); its unit table flags the dataset's
    fixed, seeded held-out neurons (``heldout``) and its trial table holds the split and the condition.
    """
    if name not in SPECS:
        raise DataError(f"unknown synthetic dataset {name!r} (expected one of {', '.join(SPECS)})")
    spec = SPECS[name]
    version = dataset_version(spec)
    path = data_dir(cache_dir) / "synthetic" / f"{name}-{version}.h5"
    arrays = read_verified(path, _read_cache)
    if arrays is None:
        arrays = _build(spec)
        _write_cache(path, arrays)
        seal_cache(path)
    n_units = arrays["spikes"].shape[2]
    units = UnitTable(session=name, local_id=np.arange(n_units), region=np.full(n_units, ""),
                      flags={"heldout": arrays["heldout"].astype(bool)})
    trials = TrialTable({"split": arrays["split"].astype(str), "condition": arrays["conditions"]})
    segments = TrialSegments(bin_ms=spec.bin_ms, counts=arrays["spikes"], forward=arrays["forward_spikes"],
                             true_rates=arrays["true_rates"], true_forward_rates=arrays["true_forward_rates"])
    return Recording(
        name=name, units=units, trials=trials, segments=segments,
        provenance={"source": "synthetic", "name": name, "version": version,
                    "params": dataclasses.asdict(spec.params), "cache": str(path),
                    "sha256": {"spikes": hashlib.sha256(np.ascontiguousarray(arrays["spikes"]).tobytes()).hexdigest()}},
    )


def _build(spec: SyntheticSpec) -> dict[str, np.ndarray]:
    arrays = spec.generate(spec.params)
    n_neurons = arrays["spikes"].shape[2]
    heldout = np.zeros(n_neurons, dtype=bool)
    picker = np.random.default_rng([GENERATOR_VERSION, n_neurons, spec.n_heldout])
    heldout[picker.choice(n_neurons, spec.n_heldout, replace=False)] = True
    arrays["heldout"] = heldout
    arrays["split"] = spec.assign_splits(arrays).astype("S5")
    return {key: arrays[key] for key in _ARRAYS}


def _read_cache(path: Path) -> dict[str, np.ndarray]:
    """Read a cached dataset (after :func:`nbench.data.cache.read_verified` checked its sha256)."""
    with h5py.File(path, "r") as h5:
        arrays = {key: h5[key][()] for key in _ARRAYS}
    arrays["split"] = arrays["split"].astype(str)
    return arrays


def _write_cache(path: Path, arrays: dict[str, np.ndarray]) -> None:
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as h5:
        for key, value in arrays.items():
            h5.create_dataset(key, data=np.asarray(value).astype("S5") if key == "split" else value,
                              compression="gzip", compression_opts=1)
