"""nlb_tools tensor files: strict reading, and importing them into the data directory as datasets.

An nlb_tools tensor file (``save_to_h5`` of ``make_train_input_tensors`` + ``make_eval_input_tensors``, possibly
with target keys) holds flat arrays, at the file root or inside one dataset group (``mc_maze_small``):

==============================  ================  =======================================================
key                             shape             role
==============================  ================  =======================================================
``train_spikes_heldin``         (R, T, I)         required
``train_spikes_heldout``        (R, T, O)         required
``eval_spikes_heldin``          (E, T, I)         required
``eval_spikes_heldout``         (E, T, O)         required: the held-out truth scored by co-bps
``train_spikes_*_forward``      (R, F, I / O)     optional, both or neither: forward-window inputs
``eval_spikes_*_forward``       (E, F, I / O)     optional, both or neither (needs train forward): fp-bps
``train_behavior``              (R, T, K) / (R,K) optional: behavior for models and for decoding
``eval_behavior``               (E, T, K) / (E,K) optional (needs train_behavior): gives vel R2
==============================  ================  =======================================================

Shapes are checked against each other before any array is read. Spike counts must be whole, non-negative
numbers (NaN allowed, as in NLB's padded windows); behavior must be finite or NaN. Other keys are ignored and
reported. Links are refused.

``import_tensors`` copies a file to ``<data dir>/imported/<name>.h5`` (atomically, verifying the copy) with a
sidecar ``<name>.json`` (source path, sha256, bin width, date); the task ``<name>`` then exists
(:mod:`nbench.tasks.imported`).
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from nbench import __version__
from nbench.data.cache import data_dir
from nbench.data.nlb.catalog import NLB_NAMES
from nbench.errors import DataError, ValidationError
from nbench.io import atomic_path, h5_kind, is_array, open_h5_checked, refuse_links, write_json_atomic

# key -> symbolic shape; R train trials, E eval trials, T bins, F forward bins, I held-in, O held-out neurons
SPIKE_KEYS: dict[str, tuple[str, str, str]] = {
    "train_spikes_heldin": ("R", "T", "I"),
    "train_spikes_heldout": ("R", "T", "O"),
    "eval_spikes_heldin": ("E", "T", "I"),
    "eval_spikes_heldout": ("E", "T", "O"),
    "train_spikes_heldin_forward": ("R", "F", "I"),
    "train_spikes_heldout_forward": ("R", "F", "O"),
    "eval_spikes_heldin_forward": ("E", "F", "I"),
    "eval_spikes_heldout_forward": ("E", "F", "O"),
}
BEHAVIOR_KEYS = {"train_behavior": "R", "eval_behavior": "E"}
REQUIRED = ("train_spikes_heldin", "train_spikes_heldout", "eval_spikes_heldin", "eval_spikes_heldout")
# (key, needs): a key present without the one it needs is refused
NEEDS = (("train_spikes_heldout_forward", "train_spikes_heldin_forward"),
         ("train_spikes_heldin_forward", "train_spikes_heldout_forward"),
         ("eval_spikes_heldout_forward", "eval_spikes_heldin_forward"),
         ("eval_spikes_heldin_forward", "eval_spikes_heldout_forward"),
         ("eval_spikes_heldin_forward", "train_spikes_heldin_forward"),
         ("eval_behavior", "train_behavior"))
DIM_NAMES = {"R": "train trials", "E": "eval trials", "T": "bins", "F": "forward bins", "I": "held-in neurons",
             "O": "held-out neurons", "K": "behavior columns"}
NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
NLB_GROUP_RE = re.compile(rf"^({'|'.join(NLB_NAMES)})(?:_(\d+))?$")


@dataclass(frozen=True)
class NlbTensors:
    """The validated arrays of one tensor file (spikes float32, behavior float64), by nlb_tools key."""

    arrays: dict[str, np.ndarray]
    group: str | None  # dataset group holding the keys, None when they are at the file root
    ignored: tuple[str, ...]  # other keys, not used

    def get(self, key: str) -> np.ndarray | None:
        return self.arrays.get(key)


def read_tensors(path: str | Path) -> NlbTensors:
    """Read and validate an nlb_tools tensor file; every problem is a one-line :class:`ValidationError`."""
    return _open_tensors(Path(path), load=True)


def inspect_tensors(path: str | Path) -> dict[str, tuple[int, ...]]:
    """Validate the layout of a tensor file (keys, dtypes, shapes) without reading the arrays; return shapes."""
    return _open_tensors(Path(path), load=False).arrays  # type: ignore[return-value]


def _open_tensors(path: Path, load: bool) -> NlbTensors:
    with open_h5_checked(path, "nlb_tools tensor file") as h5:
        if h5.attrs.get("neurodata_type") in ("NWBFile", b"NWBFile"):
            raise ValidationError(f"{path}: an NWB file, expected an nlb_tools tensor file (NLB's NWB files are "
                                  "fetched with `nbench data fetch`, not imported)")
        refuse_links(h5, path)
        group = _find_group(h5, path)
        node = h5[group] if group else h5
        keys = [k for k in (*SPIKE_KEYS, *BEHAVIOR_KEYS) if k in node]
        ignored = tuple(sorted(set(node) - set(keys)))
        datasets = {k: _dataset(node, k, path) for k in keys}
        check_shapes({k: d.shape for k, d in datasets.items()}, path)
        arrays = {k: _load(d, k, path) if load else d.shape for k, d in datasets.items()}
    return NlbTensors(arrays, group, ignored)  # type: ignore[arg-type]


def _find_group(h5: h5py.File, path: Path) -> str | None:
    """The keys live at the root or in the only group; anything else is refused."""
    if "train_spikes_heldin" in h5:
        return None
    groups = [k for k in h5 if isinstance(h5[k], h5py.Group)]
    if len(groups) == 1 and "train_spikes_heldin" in h5[groups[0]]:
        return groups[0]
    where = f"groups {groups}" if len(groups) > 1 else f"keys {sorted(h5)[:8]}"
    raise ValidationError(f"{path}: no nlb_tools tensors (expected key 'train_spikes_heldin' at the top level or "
                          f"inside one dataset group; found {where})")


def _dataset(node: h5py.Group, key: str, path: Path) -> h5py.Dataset:
    obj = node[key]
    if not is_array(obj):
        raise ValidationError(f"{path}: key {key!r} is {h5_kind(obj)}, expected a numeric array")
    if obj.dtype.kind not in "biuf":
        raise ValidationError(f"{path}: key {key!r} has dtype {obj.dtype}, expected numbers (float or int)")
    return obj


def check_shapes(shapes: dict[str, tuple[int, ...]], path: str | Path) -> None:
    """Check presence and mutual consistency of the arrays' shapes (nothing is read)."""
    for key in REQUIRED:
        if key not in shapes:
            raise ValidationError(f"{path}: missing key {key!r} (required; found {sorted(shapes)})")
    for key, needs in NEEDS:
        if key in shapes and needs not in shapes:
            raise ValidationError(f"{path}: key {key!r} is present but {needs!r} is missing (expected both)")
    bound: dict[str, tuple[int, str]] = {}
    for key, dims in SPIKE_KEYS.items():
        if key in shapes:
            _bind(key, shapes[key], dims, bound, path)
    for key in (k for k in BEHAVIOR_KEYS if k in shapes):
        ndim = len(shapes["train_behavior"])
        if len(shapes[key]) not in (2, 3):
            raise ValidationError(f"{path}: key {key!r} has shape {shapes[key]}, expected 3 dimensions (trials x "
                                  "bins x behavior columns) or 2 (trials x per-trial values)")
        dims = (BEHAVIOR_KEYS[key], "T", "K") if ndim == 3 else (BEHAVIOR_KEYS[key], "K")
        _bind(key, shapes[key], dims, bound, path)


def _bind(key: str, shape: tuple[int, ...], dims: tuple[str, ...], bound: dict[str, tuple[int, str]],
          path: str | Path) -> None:
    if len(shape) != len(dims):
        raise ValidationError(f"{path}: key {key!r} has shape {shape}, expected {len(dims)} dimensions "
                              f"({' x '.join(DIM_NAMES[d] for d in dims)})")
    for axis, (size, dim) in enumerate(zip(shape, dims, strict=True)):
        if size == 0:
            raise ValidationError(f"{path}: key {key!r} has shape {shape}, expected no empty axis "
                                  f"({DIM_NAMES[dim]} is 0)")
        if dim in bound and bound[dim][0] != size:
            value, origin = bound[dim]
            raise ValidationError(f"{path}: key {key!r} has {size} {DIM_NAMES[dim]} (axis {axis}, shape {shape}), "
                                  f"expected {value} as in {origin!r}")
        bound.setdefault(dim, (size, key))


def _load(dataset: h5py.Dataset, key: str, path: Path) -> np.ndarray:
    """Read one array and check its values: counts are whole and >= 0, nothing is infinite."""
    is_spikes = key in SPIKE_KEYS
    arr = dataset[()].astype(np.float32 if is_spikes else np.float64, copy=False)
    if np.isinf(arr).any():
        raise ValidationError(f"{path}: key {key!r} contains infinite values, expected finite numbers or NaN")
    if is_spikes:
        finite = arr[~np.isnan(arr)]
        if (finite < 0).any():
            raise ValidationError(f"{path}: key {key!r} contains negative values (min {finite.min():g}), "
                                  "expected spike counts >= 0")
        if (finite != np.round(finite)).any():
            bad = finite[finite != np.round(finite)][0]
            raise ValidationError(f"{path}: key {key!r} contains non-integer counts (e.g. {bad:g}), "
                                  "expected whole spike counts per bin")
    return arr


def bin_ms_for(group: str | None, filename: str, bin_ms: float | None) -> float:
    """Bin width: given explicitly, or from an NLB group name (``mc_maze`` 5, ``mc_maze_20`` 20), or from a
    ``<n>ms`` part of the file name."""
    if bin_ms is not None:
        if not bin_ms > 0:
            raise ValidationError(f"bin width {bin_ms} ms is invalid, expected a positive number")
        return float(bin_ms)
    match = NLB_GROUP_RE.match(group or "")
    if match:
        return float(match.group(2) or 5)
    match = re.search(r"(?<![0-9])(\d+)\s*ms(?![a-z])", filename.lower())
    if match and int(match.group(1)) > 0:
        return float(match.group(1))
    raise ValidationError(f"{filename}: cannot tell the bin width (no NLB group name or '<n>ms' in the file "
                          "name); pass --bin-ms (NLB tensors use 5 or 20)")


@dataclass(frozen=True)
class ImportedDataset:
    """An imported tensor file in the data directory and its sidecar metadata."""

    name: str
    path: Path
    meta: dict[str, Any]

    @property
    def sha256(self) -> str:
        return str(self.meta["sha256"])

    @property
    def bin_ms(self) -> float:
        return float(self.meta["bin_ms"])


def imported_dir(root: str | Path | None = None) -> Path:
    return data_dir(root) / "imported"


def check_name(name: str) -> str:
    """A valid dataset/task name: lowercase letters, digits and '_' (starting with a letter)."""
    if not NAME_RE.match(name):
        raise ValidationError(f"dataset name {name!r} is invalid, expected lowercase letters, digits and '_', "
                              "starting with a letter (e.g. 'my_maze_5ms')")
    return name


def import_tensors(source: str | Path, name: str, root: str | Path | None = None, *,
                   bin_ms: float | None = None, force: bool = False, taken: tuple[str, ...] = (),
                   like: str | None = None) -> ImportedDataset:
    """Validate ``source`` and copy it into the data directory as dataset ``name``.

    Parameters
    ----------
    source
        An nlb_tools tensor .h5 file.
    name
        Name of the dataset and of its task.
    root
        Data directory override.
    bin_ms
        Bin width in ms (default: from the group name or file name).
    force
        Replace an existing import of the same name.
    taken
        Names that may not be used (the registered tasks).
    like
        The NLB dataset the file comes from (``"mc_maze_small"``): model presets of that dataset family apply.
    """
    source = Path(source)
    check_name(name)
    if like is not None and like not in NLB_NAMES:
        raise ValidationError(f"--like {like!r}: expected an NLB dataset ({', '.join(NLB_NAMES)})")
    if name in taken:
        raise ValidationError(f"dataset name {name!r} is already a task; choose another --name")
    dest = imported_dir(root) / f"{name}.h5"
    side = dest.with_suffix(".json")
    if side.exists() and not force:
        raise DataError(f"imported dataset {name!r} already exists ({dest}); pass --force to replace it")
    inspect_tensors(source)  # refuse a malformed file before copying anything
    with atomic_path(dest) as tmp:
        sha = _copy_hashing(source, tmp)
        try:
            tensors = read_tensors(tmp)  # values are checked on the copy: what is kept is what was validated
        except ValidationError as exc:  # the copy has the source's bytes; name the user's file
            raise ValidationError(str(exc).replace(str(tmp), str(source))) from None
        meta = _sidecar(name, source, sha, tmp.stat().st_size, tensors, bin_ms_for(tensors.group, source.name,
                                                                                     bin_ms))
        meta["like"] = like
        side.unlink(missing_ok=True)  # the old import disappears before its file is replaced
    try:
        write_json_atomic(side, meta)
    except BaseException:
        dest.unlink(missing_ok=True)
        raise
    return ImportedDataset(name, dest, meta)


def _copy_hashing(source: Path, dest: Path) -> str:
    digest = hashlib.sha256()
    with open(source, "rb") as src, open(dest, "wb") as out:
        while block := src.read(1 << 20):
            digest.update(block)
            out.write(block)
    shutil.copymode(source, dest)
    return digest.hexdigest()


def _sidecar(name: str, source: Path, sha: str, size: int, tensors: NlbTensors, bin_ms: float) -> dict[str, Any]:
    return {
        "format": "nlb_tools tensors", "name": name, "source_path": str(source.resolve()), "sha256": sha,
        "size": size, "bin_ms": bin_ms, "group": tensors.group, "imported_utc":
            datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "shapes": {k: list(v.shape) for k, v in tensors.arrays.items()}, "ignored_keys": list(tensors.ignored),
        "nbench": __version__,
    }


def list_imported(root: str | Path | None = None) -> list[ImportedDataset]:
    """Imported datasets in the data directory, by name (those whose sidecar is readable)."""
    found = []
    for side in sorted(imported_dir(root).glob("*.json")):
        try:
            found.append(load_imported(side.stem, root))
        except DataError:
            continue
    return found


def load_imported(name: str, root: str | Path | None = None) -> ImportedDataset:
    """The imported dataset ``name`` (its sidecar read and checked; the .h5 not opened)."""
    side = imported_dir(root) / f"{name}.json"
    try:
        meta = json.loads(side.read_text())
    except FileNotFoundError:
        raise DataError(f"no imported dataset {name!r} in {imported_dir(root)}") from None
    except (OSError, ValueError) as exc:
        raise DataError(f"{side}: unreadable import metadata ({type(exc).__name__}); import the file again "
                        "with --force") from None
    missing = [k for k in ("sha256", "bin_ms") if not isinstance(meta, dict) or k not in meta]
    if missing:
        raise DataError(f"{side}: import metadata lacks {missing[0]!r}; import the file again with --force")
    return ImportedDataset(name, side.with_suffix(".h5"), meta)


def read_imported(dataset: ImportedDataset) -> NlbTensors:
    """The arrays of an imported dataset, after checking the file still has the imported sha256."""
    from nbench.data.download import file_digest

    if not dataset.path.exists():
        raise DataError(f"{dataset.path}: imported file is missing; import it again")
    got = file_digest(dataset.path)
    if got != dataset.sha256:
        raise DataError(f"{dataset.path}: sha256 {got[:12]}... differs from the imported {dataset.sha256[:12]}...; "
                        "the file changed after import, import it again with --force")
    return read_tensors(dataset.path)
