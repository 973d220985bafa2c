"""One recording on one 1 ms grid: a single NWB file, or a test + train pair stacked the nlb_tools way.

nlb_tools loads every ``*.nwb`` of a directory in sorted name order (``desc-test`` before ``desc-train``) and
places each later file at the next 100 ms boundary at least 50 ms after the previous file's last sample;
trial ids continue. Columns are joined by name, so the test file's held-in units must be the train file's
held-in units and its missing held-out units and behavior are missing data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nbench.data.nlb.nwbread import NWBContent, SeriesRef, UnitGroup, read_nwb, read_series
from nbench.data.nlb.timeconv import NAT, NS_PER_MS, ms_to_ns
from nbench.errors import DataError

CHUNK_ROWS = 1 << 20
_LABEL = {"heldin": "held-in", "heldout": "held-out"}


@dataclass
class Recording:
    """Spikes, trials and behavior of one or more NWB files on a shared 1 ms grid ``[0, n_ms)``."""

    n_ms: int
    trials: dict[str, np.ndarray]
    groups: dict[str, UnitGroup]
    parts: list[tuple[NWBContent, int]]
    series: dict[str, list[tuple[NWBContent, int, SeriesRef]]]
    _row_valid: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    _values: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    @property
    def n_trials(self) -> int:
        return len(self.trials["trial_id"])

    def values(self, name: str) -> np.ndarray:
        """Series ``name`` as a dense (n_ms, columns) float64 array, NaN where it has no sample (kept)."""
        if name in self._values:
            return self._values[name]
        refs = self.series[name]
        dtype = np.result_type(*(r[2].dtype for r in refs))
        out = np.full((self.n_ms, len(refs[0][2].column_names)), np.nan, dtype=dtype)
        for content, offset, ref in refs:
            for start in range(0, len(ref.positions), CHUNK_ROWS):
                out[ref.positions[start:start + CHUNK_ROWS] + offset] = read_series(
                    content.path, ref, start, start + CHUNK_ROWS)
        self._values[name] = out
        return out

    def row_valid(self, name: str) -> np.ndarray:
        """True at each ms where series ``name`` has a sample with no NaN column.

        A column that is NaN everywhere stays NaN after nlb_tools' interpolation and decimation, so then no row
        is valid.
        """
        if name not in self._row_valid and name in self._values:
            finite = ~np.isnan(self._values[name])
            self._row_valid[name] = finite.all(axis=1) if finite.any(axis=0).all() else np.zeros(self.n_ms, bool)
        if name not in self._row_valid:
            refs = self.series[name]
            valid = np.zeros(self.n_ms, dtype=bool)
            column_seen = np.zeros(len(refs[0][2].column_names), dtype=bool)
            for content, offset, ref in refs:
                for start in range(0, len(ref.positions), CHUNK_ROWS):
                    block = read_series(content.path, ref, start, start + CHUNK_ROWS)
                    finite = ~np.isnan(block)
                    column_seen |= finite.any(axis=0)
                    valid[ref.positions[start:start + CHUNK_ROWS] + offset] = finite.all(axis=1)
            self._row_valid[name] = valid if column_seen.all() else np.zeros(self.n_ms, dtype=bool)
        return self._row_valid[name]


def load_recording(paths: list[Path], check: Callable[[NWBContent], None] | None = None) -> Recording:
    """Read and stack NWB files (sorted by file name, as nlb_tools does); ``check`` vets each file first."""
    contents = [read_nwb(p) for p in sorted(paths, key=lambda p: p.name)]
    for content in contents if check else ():
        check(content)
    offsets = _offsets([c.n_ms for c in contents])
    n_ms = offsets[-1] + contents[-1].n_ms
    trials = _stack_trials([c.trials for c in contents], offsets)
    groups = {name: _stack_group(contents, offsets, name, n_ms) for name in ("heldin", "heldout")}
    series: dict[str, list[tuple[NWBContent, int, SeriesRef]]] = {}
    for content, offset in zip(contents, offsets, strict=True):
        for name, ref in content.series.items():
            series.setdefault(name, []).append((content, offset, ref))
    for name, refs in series.items():
        if len({r[2].column_names for r in refs}) > 1:
            raise DataError(f"{refs[1][0].path}: series {name!r} has other columns than in {refs[0][0].path}")
    return Recording(n_ms, trials, {k: v for k, v in groups.items() if v is not None},
                     list(zip(contents, offsets, strict=True)), series)


def _offsets(lengths: list[int]) -> list[int]:
    """Start (ms) of each file on the stacked grid: the next 100 ms boundary >= last sample + 50 ms."""
    offsets = [0]
    for i in range(1, len(lengths)):
        last_s = (offsets[-1] + lengths[i - 1] - 1) * NS_PER_MS / 1e9
        past_end = last_s + round(50 * 1 / 1000, 4)
        offsets.append(int(np.ceil(past_end * 10) * 100))
    return offsets


def _stack_trials(tables: list[dict[str, np.ndarray]], offsets: list[int]) -> dict[str, np.ndarray]:
    if len(tables) == 1:
        return tables[0]
    names = list(dict.fromkeys(k for t in tables for k in t))
    out: dict[str, np.ndarray] = {}
    count = 0
    parts: dict[str, list[np.ndarray]] = {k: [] for k in names}
    for table, offset in zip(tables, offsets, strict=True):
        n = len(table["trial_id"])
        for key in names:
            col = table.get(key)
            if key == "trial_id":
                col = col + count
            elif key.endswith("_time"):
                col = np.full(n, NAT) if col is None else np.where(col == NAT, NAT, col + ms_to_ns(offset))
            elif col is None:
                col = np.full(n, np.nan)
            parts[key].append(col)
        count += n
    for key, cols in parts.items():
        if any(c.dtype.kind in "US" for c in cols):
            cols = [c.astype(str) if c.dtype.kind in "US" else np.full(len(c), "", dtype=str) for c in cols]
        elif len({c.dtype for c in cols}) > 1 and not key.endswith("_time"):
            cols = [c.astype(np.float64) for c in cols]
        out[key] = np.concatenate(cols)
    return out


def _stack_group(contents: list[NWBContent], offsets: list[int], name: str, n_ms: int) -> UnitGroup | None:
    present = [(getattr(c, name), o, c) for c, o in zip(contents, offsets, strict=True)
               if getattr(c, name) is not None]
    if not present:
        return None
    if len(present) == 1 and len(contents) == 1:
        return present[0][0]
    ids = present[0][0].ids
    for group, _, content in present[1:]:
        if not np.array_equal(group.ids, ids):
            raise DataError(f"{content.path}: its {_LABEL[name]} unit ids differ from those of {present[0][2].path} "
                            f"({len(group.ids)} vs {len(ids)} units); the files are not from one NLB dataset")
    observed = np.zeros(n_ms, dtype=bool)
    for group, offset, _ in present:
        observed[offset:offset + len(group.observed)] = group.observed
    return UnitGroup(ids, np.concatenate([g.spike_ms + o for g, o, _ in present]),
                     np.concatenate([g.spike_col for g, _, _ in present]), observed)
