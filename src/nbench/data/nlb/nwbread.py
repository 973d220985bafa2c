"""Read one NLB NWB file with h5py: trial table, spikes on the 1 ms grid, behavior series.

What is read follows ``nlb_tools.nwb_interface.NWBDataset.load`` (the rules are in ``reference/data.md`` 2.6):
the grid runs from 0 to the last observation-interval end; spikes outside the first unit's observation
intervals are missing data; every TimeSeries whose samples all sit on the grid becomes a signal. Spikes are kept
as (ms, column) pairs, never as a dense 1 ms matrix.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from nbench.data.nlb.timeconv import observed_ms, seconds_to_ns, spike_ms
from nbench.data.recording import SpikeBlock
from nbench.errors import DataError, ValidationError
from nbench.io import open_h5_checked

logger = logging.getLogger(__name__)

FAST_GRID_MS = 200_000_000  # 55 h; pandas gives k ms for every k/1000 below this (checked exhaustively)
SERIES_PARENTS = ("acquisition", "stimulus/presentation", "stimulus/templates", "analysis")


@dataclass
class SeriesRef:
    """A behavior TimeSeries: its HDF5 path, sample positions on the 1 ms grid and column order."""

    name: str
    path: str
    positions: np.ndarray
    column_names: tuple[str, ...]
    column_order: np.ndarray
    dtype: np.dtype = np.dtype(np.float64)


@dataclass
class NWBContent:
    """The parts of one NLB NWB file that tensors and targets are built from."""

    path: Path
    n_ms: int
    trials: dict[str, np.ndarray]
    subject_id: str
    session_id: str
    heldin: SpikeBlock | None
    heldout: SpikeBlock | None
    series: dict[str, SeriesRef] = field(default_factory=dict)


def read_nwb(path: str | Path) -> NWBContent:
    """Read an NLB NWB file.

    Raises
    ------
    DataError
        One line naming the file when it is missing, truncated, not HDF5, not NWB, holds external links, or
        lacks what an NLB file has (trials with ``split``, units with ``spike_times``, ``obs_intervals``,
        ``heldout``).
    """
    path = Path(path)
    try:
        h5 = open_h5_checked(path, "NWB file")
    except ValidationError as exc:
        raise DataError(str(exc)) from None
    try:
        with h5:
            _check_nwb(h5, path)
            trials = _read_trials(h5, path)
            n_ms, units = _read_units(h5, path, trials)
            series = _find_series(h5, path, n_ms)
            return NWBContent(path, n_ms, trials, _text(h5, "general/subject/subject_id"),
                              _text(h5, "general/session_id"), units[0], units[1], series)
    except (OSError, KeyError, ValueError, TypeError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataError(f"{path}: unreadable NLB NWB file, perhaps truncated or damaged ({reason})") from None


def read_series(path: Path, ref: SeriesRef, start: int = 0, stop: int | None = None) -> np.ndarray:
    """Samples ``start:stop`` of a series (samples x columns), columns in nlb_tools' sorted order.

    float32 data stay float32 (nlb_tools resamples them in single precision); anything else becomes float64.
    """
    with h5py.File(path, "r") as h5:
        data = h5[ref.path]["data"][start:stop]
    data = np.asarray(data, dtype=series_dtype(data.dtype))
    data = data.reshape(len(data), -1)
    return data[:, ref.column_order]


def series_dtype(stored: np.dtype) -> np.dtype:
    """The dtype a behavior series has in nlb_tools' frame (and is resampled in)."""
    return np.dtype(np.float32) if stored == np.float32 else np.dtype(np.float64)


def _check_nwb(h5: h5py.File, path: Path) -> None:
    if "nwb_version" not in h5.attrs and h5.attrs.get("neurodata_type") != "NWBFile":
        raise DataError(f"{path}: not an NWB file (no nwb_version attribute at the root)")
    external: list[str] = []

    def visit(name: str, link: object) -> None:
        if isinstance(link, h5py.ExternalLink):
            external.append(name)

    h5.visititems_links(visit)
    if external:
        raise DataError(f"{path}: {external[0]!r} is an HDF5 external link; NWB files with external links are "
                        "refused")
    for key in ("intervals/trials", "units"):
        if key not in h5:
            raise DataError(f"{path}: not an NLB NWB file (no /{key})")


def _text(h5: h5py.File, key: str) -> str:
    if key not in h5:
        return ""
    value = h5[key][()]
    return value.decode() if isinstance(value, bytes) else str(value)


def _read_trials(h5: h5py.File, path: Path) -> dict[str, np.ndarray]:
    """Trial columns; ``*_time`` columns in int64 ns, ``stop_time`` renamed ``end_time``, ``id`` -> ``trial_id``."""
    group = h5["intervals/trials"]
    if "split" not in group or "start_time" not in group:
        raise DataError(f"{path}: not an NLB NWB file (trials table has no 'split' or 'start_time' column)")
    n = len(group["id"])
    out: dict[str, np.ndarray] = {"trial_id": group["id"][()].astype(np.int64)}
    for name, obj in group.items():
        if name == "id" or name.endswith("_index") or not isinstance(obj, h5py.Dataset):
            continue
        # ragged columns (target_pos, barrier_pos) and references are not used by any NLB window or target
        if f"{name}_index" in group or obj.shape[:1] != (n,) or h5py.check_ref_dtype(obj.dtype) is not None:
            continue
        values = obj[()]
        if h5py.check_string_dtype(obj.dtype) is not None:
            values = np.array([v.decode() if isinstance(v, bytes) else str(v) for v in values])
        key = "end_time" if name == "stop_time" else name
        out[key] = seconds_to_ns(values) if key.endswith("_time") else values
    bad = set(np.unique(out["split"])) - {"train", "val", "test", "none"}
    if bad:
        raise DataError(f"{path}: trial split has unknown labels {sorted(bad)} (expected train, val, test, none)")
    return out


def _read_units(h5: h5py.File, path: Path, trials: dict[str, np.ndarray]
                ) -> tuple[int, tuple[SpikeBlock | None, SpikeBlock | None]]:
    units = h5["units"]
    for key in ("spike_times", "spike_times_index", "obs_intervals", "obs_intervals_index", "heldout"):
        if key not in units:
            raise DataError(f"{path}: not an NLB NWB file (units table has no {key!r} column)")
    ids = units["id"][()].astype(np.int64)
    heldout = units["heldout"][()].astype(bool)
    obs = units["obs_intervals"][()].reshape(-1, 2)
    obs_end = units["obs_intervals_index"][()].astype(np.int64)
    if len(ids) == 0 or np.any(np.diff(np.concatenate([[0], obs_end])) <= 0):
        raise DataError(f"{path}: a unit has no observation intervals (units/obs_intervals)")
    # nlb_tools: end = round(max over units of the last interval's end * 1000) ms
    n_ms = int(round(float(np.max(obs[obs_end - 1, 1])) * 1000.0))
    last_stop_s = float(trials["end_time"][-1]) / 1e9 if len(trials["end_time"]) else 0.0
    if n_ms < last_stop_s:  # nlb_tools compares ms with seconds here; kept for fidelity
        n_ms = int(round(last_stop_s * 1000.0))
    times = units["spike_times"][()]
    time_end = units["spike_times_index"][()].astype(np.int64)
    groups = tuple(_unit_group(path, ids, times, time_end, obs, obs_end, n_ms, heldout == flag, flag)
                   for flag in (False, True))
    return n_ms, groups


def _unit_group(path: Path, ids: np.ndarray, times: np.ndarray, time_end: np.ndarray, obs: np.ndarray,
                obs_end: np.ndarray, n_ms: int, select: np.ndarray, heldout_group: bool) -> SpikeBlock | None:
    members = np.flatnonzero(select)
    if len(members) == 0:
        return None
    first = members[0]
    observed = observed_ms(obs[(obs_end[first - 1] if first else 0):obs_end[first]], n_ms)
    sorted_ids = np.sort(ids[members])
    column = np.searchsorted(sorted_ids, ids[members])
    starts = np.concatenate([[0], time_end])[members]
    counts = time_end[members] - starts
    take = np.concatenate([np.arange(s, s + c) for s, c in zip(starts, counts, strict=True)]) if counts.sum() else \
        np.zeros(0, np.int64)
    ms = spike_ms(times[take])
    if len(ms) and (ms.min() < 0 or ms.max() >= n_ms):
        raise DataError(f"{path}: spike times outside the recording (0 to {n_ms / 1000:g} s, the last "
                        "observation-interval end)")
    cols = np.repeat(column, counts).astype(np.int64)
    keep = observed[ms]
    key = np.sort(ms[keep] * len(members) + cols[keep])
    return SpikeBlock(sorted_ids, key // len(members), (key % len(members)).astype(np.int32), observed,
                      name="heldout" if heldout_group else "heldin")


def _find_series(h5: h5py.File, path: Path, n_ms: int) -> dict[str, SeriesRef]:
    """Every TimeSeries nlb_tools would load (acquisition, stimulus, processing modules and their containers)."""
    found: dict[str, SeriesRef] = {}
    parents = [h5[p] for p in SERIES_PARENTS if p in h5]
    parents += [h5["processing"][m] for m in h5["processing"]] if "processing" in h5 else []
    for parent in parents:
        for name, obj in parent.items():
            if not isinstance(obj, h5py.Group):
                continue
            if _is_series(obj):
                _add_series(found, name, obj, path, n_ms)
            else:
                for sub_name, sub in obj.items():
                    if isinstance(sub, h5py.Group) and _is_series(sub):
                        _add_series(found, f"{name}_{sub_name}", sub, path, n_ms)
    return found


def _is_series(group: h5py.Group) -> bool:
    return "data" in group and ("timestamps" in group or "starting_time" in group)


def _add_series(found: dict[str, SeriesRef], name: str, group: h5py.Group, path: Path, n_ms: int) -> None:
    n = group["data"].shape[0]
    if "timestamps" in group:
        seconds = np.asarray(group["timestamps"][()], dtype=np.float64)
    else:
        start = group["starting_time"]
        seconds = np.arange(n) / float(start.attrs["rate"]) + float(start[()])
    positions = grid_positions(seconds, n_ms)
    if positions is None:
        logger.warning("Dropping %s due to timestamp mismatch.", name)
        return
    if isinstance(positions, str):
        raise DataError(f"{path}: TimeSeries {name!r} {positions}")
    names = _column_names(group)
    width = int(np.prod(group["data"].shape[1:])) if len(group["data"].shape) > 1 else 1
    names = names if names is not None and len(names) == width else tuple(f"{i:04d}" for i in range(width))
    order = np.array(sorted(range(width), key=lambda i: names[i]), dtype=np.int64)
    found[name] = SeriesRef(name, group.name, positions, tuple(names[i] for i in order), order,
                            series_dtype(group["data"].dtype))


def grid_positions(seconds: np.ndarray, n_ms: int) -> np.ndarray | str | None:
    """Grid position (ms) of each sample time, as nlb_tools places samples on its 1 ms frame.

    None when a sample is off the grid (nlb_tools then drops the series); a message when a sample rounds onto
    the grid but its nanosecond time does not (nlb_tools would then misalign the frame).
    """
    k = seconds * 1000.0
    np.rint(k, out=k)
    # Times that are exactly the double k/1000 convert to k ms to the nanosecond (checked against pandas for
    # every k below FAST_GRID_MS), which skips the costly general conversion for ordinary NWB files.
    if len(k) and k.min() >= 0 and k.max() < min(n_ms, FAST_GRID_MS) and np.array_equal(k / 1000.0, seconds):
        return k.astype(np.int32)
    ns = seconds_to_ns(seconds)
    rounded = np.round(ns / 1e9, 6)
    positions = np.rint(rounded * 1000.0).astype(np.int64)
    on_grid = (positions >= 0) & (positions < n_ms)
    grid = np.round(np.where(on_grid, positions, 0).astype(np.float64) / 1000, 6)
    if not np.all(on_grid & (grid == rounded)):
        return None
    if np.any(ns != positions * 1_000_000):
        return "has timestamps within 1 us of the 1 ms grid but not on it"
    return positions.astype(np.int32) if n_ms < np.iinfo(np.int32).max else positions


def _column_names(group: h5py.Group) -> tuple[str, ...] | None:
    """nlb_tools' rule: the text between the last ``[`` and the next ``]`` of ``comments``, split on commas."""
    comments = group.attrs.get("comments", "")
    comments = comments.decode() if isinstance(comments, bytes) else str(comments)
    if "columns=" not in comments:
        return None
    return tuple(comments.split("[")[-1].split("]")[0].split(","))
