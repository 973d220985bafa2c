"""An NLB recording on one 1 ms grid: a single NWB file, or a test + train pair stacked the nlb_tools way.

nlb_tools loads every ``*.nwb`` of a directory in sorted name order (``desc-test`` before ``desc-train``) and
places each later file at the next 100 ms boundary at least 50 ms after the previous file's last sample;
trial ids continue. Columns are joined by name, so the test file's held-in units must be the train file's
held-in units and its missing held-out units and behavior are missing data.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from nbench.data.nlb.catalog import NLB_CATALOG
from nbench.data.nlb.nwbread import NWBContent, SeriesRef, read_nwb, read_series
from nbench.data.nlb.params import DMFC_BEHAVIOR_FIELDS, PARAMS
from nbench.data.nlb.timeconv import NAT, NS_PER_MS, ms_to_ns
from nbench.data.recording import BehaviorInfo, GridSeries, Recording, SpikeBlock, TrialTable, UnitTable
from nbench.errors import DataError

CHUNK_ROWS = 1 << 20
_LABEL = {"heldin": "held-in", "heldout": "held-out"}


def load_recording(paths: list[Path], check: Callable[[NWBContent], None] | None = None,
                   dataset: str | None = None) -> Recording:
    """Read and stack NWB files (sorted by file name, as nlb_tools does) into one :class:`Recording`.

    ``check`` vets each file first. ``dataset`` names the NLB dataset: it labels the session and gives each
    unit its region (:data:`nbench.data.nlb.params.PARAMS`); without it regions are unknown (``""``).
    Held-in and held-out units are the spike blocks ``"heldin"`` and ``"heldout"``, flagged ``heldout`` in
    the unit table; trial times are int64 ns on the stacked grid.
    """
    contents = [read_nwb(p) for p in sorted(paths, key=lambda p: p.name)]
    for content in contents if check else ():
        check(content)
    offsets = _offsets([c.n_ms for c in contents])
    n_ms = offsets[-1] + contents[-1].n_ms
    trials = _stack_trials([c.trials for c in contents], offsets)
    blocks = [b for b in (_stack_group(contents, offsets, name, n_ms) for name in ("heldin", "heldout"))
              if b is not None]
    refs: dict[str, list[tuple[NWBContent, int, SeriesRef]]] = {}
    for content, offset in zip(contents, offsets, strict=True):
        for name, ref in content.series.items():
            refs.setdefault(name, []).append((content, offset, ref))
    for name, parts in refs.items():
        if len({r[2].column_names for r in parts}) > 1:
            raise DataError(f"{parts[1][0].path}: series {name!r} has other columns than in {parts[0][0].path}")
    session = dataset or f"{contents[0].subject_id}_{contents[0].session_id}".strip("_") or contents[0].path.stem
    units = _unit_table(blocks, session, dataset)
    return Recording(name=dataset or session, units=units, trials=TrialTable(trials), spikes=tuple(blocks),
                     n_ms=n_ms, series={name: _grid_series(name, parts, n_ms) for name, parts in refs.items()},
                     behavior=_behavior(dataset),
                     provenance={"files": [str(c.path) for c in contents], "subject": contents[0].subject_id,
                                 "session": contents[0].session_id})


def _unit_table(blocks: list[SpikeBlock], session: str, dataset: str | None) -> UnitTable:
    """Held-in units first, then held-out units; each block learns its rows."""
    start = 0
    for block in blocks:
        block.rows = np.arange(start, start + block.n_units)
        start += block.n_units
    ids = np.concatenate([b.ids for b in blocks]) if blocks else np.zeros(0, np.int64)
    heldout = np.concatenate([np.full(b.n_units, b.name == "heldout") for b in blocks]) if blocks else \
        np.zeros(0, bool)
    return UnitTable(session=session, local_id=ids, region=unit_regions(dataset, ids), flags={"heldout": heldout})


def unit_regions(dataset: str | None, ids: np.ndarray) -> np.ndarray:
    """Maze unit ids start with the array (1 = PMd, 2 = M1); other datasets record one area."""
    if dataset is None or dataset not in NLB_CATALOG:
        return np.full(len(ids), "", dtype=object).astype(str)
    rule = NLB_CATALOG[dataset].regions
    if rule == "maze":
        return np.where(np.asarray(ids) // 1000 == 1, "PMd", "M1")
    return np.full(len(ids), rule)


def _behavior(dataset: str | None) -> tuple[BehaviorInfo, ...]:
    if dataset is None or dataset not in PARAMS:
        return ()
    params = PARAMS[dataset]
    if params.dmfc:
        return (BehaviorInfo("tp", "scalar", DMFC_BEHAVIOR_FIELDS),)
    return (BehaviorInfo(params.behavior_field, "continuous"),) if params.behavior_field else ()


def _grid_series(name: str, refs: list[tuple[NWBContent, int, SeriesRef]], n_ms: int) -> GridSeries:
    """A behaviour series of one or more files, read in chunks only when a task asks for it."""
    width = len(refs[0][2].column_names)

    def load() -> np.ndarray:
        dtype = np.result_type(*(r[2].dtype for r in refs))
        out = np.full((n_ms, width), np.nan, dtype=dtype)
        for content, offset, ref in refs:
            for start in range(0, len(ref.positions), CHUNK_ROWS):
                out[ref.positions[start:start + CHUNK_ROWS] + offset] = read_series(
                    content.path, ref, start, start + CHUNK_ROWS)
        return out

    def valid() -> np.ndarray:
        # A column that is NaN everywhere stays NaN after nlb_tools' interpolation and decimation: no row valid.
        rows = np.zeros(n_ms, dtype=bool)
        column_seen = np.zeros(width, dtype=bool)
        for content, offset, ref in refs:
            for start in range(0, len(ref.positions), CHUNK_ROWS):
                block = read_series(content.path, ref, start, start + CHUNK_ROWS)
                finite = ~np.isnan(block)
                column_seen |= finite.any(axis=0)
                rows[ref.positions[start:start + CHUNK_ROWS] + offset] = finite.all(axis=1)
        return rows if column_seen.all() else np.zeros(n_ms, dtype=bool)

    return GridSeries(name, refs[0][2].column_names, load, valid)


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


def _stack_group(contents: list[NWBContent], offsets: list[int], name: str, n_ms: int) -> SpikeBlock | None:
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
    return SpikeBlock(ids, np.concatenate([g.spike_ms + o for g, o, _ in present]),
                      np.concatenate([g.spike_col for g, _, _ in present]), observed, name=name)
