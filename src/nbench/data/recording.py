"""The recording container every data source produces: one session's units, trials, spikes and behaviour.

A :class:`Recording` is one session. Its spikes come in one of two forms:

- **on the session timeline** (``spikes``): blocks of spike events on a 1 ms grid, as NWB sources hold them
  (the NLB files, IBL sessions); tasks cut trial windows out of the timeline and bin them;
- **cut into trials** (``segments``): binned counts per trial, as synthetic generators make them and as
  nlb_tools tensor files store them; a recording with segments but no spike times is *binned-only*
  (:attr:`Recording.binned_only`).

Per-trial behaviour (a choice, DMFC's produced interval) lives in the trial table; continuous behaviour lives in
``series`` (timeline) or in ``segments.behavior`` (per bin). Units carry session-qualified ids
(``"<session>/<unit>"``), so that units of several sessions never collide. A multi-session dataset is a
sequence of recordings.

This module knows nothing about tasks: which neurons are held out, which trials are scored and how windows are
binned are decided by the task that reads the recording.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

SPLIT_NAMES = ("train", "val", "test", "none")
BEHAVIOR_KINDS = ("continuous", "categorical", "scalar")


@dataclass(frozen=True, eq=False)
class UnitTable:
    """The units of one session, in column order.

    Attributes
    ----------
    session
        Session identifier; unit ids are qualified with it.
    local_id
        The source's own unit identifiers (integers or strings).
    region
        Brain-region label per unit (``""`` where unknown).
    flags
        Further per-unit columns the source declares, e.g. NLB's ``heldout`` (bool).
    """

    session: str
    local_id: np.ndarray
    region: np.ndarray
    flags: Mapping[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.local_id)
        _check_len("units.region", self.region, n)
        for name, column in self.flags.items():
            _check_len(f"units.{name}", column, n)

    def __len__(self) -> int:
        return len(self.local_id)

    @property
    def id(self) -> np.ndarray:
        """Session-qualified ids, ``"<session>/<local id>"``."""
        return qualified_ids(self.session, self.local_id)

    def regions(self) -> list[str]:
        """The distinct region labels, in order of first appearance."""
        return list(dict.fromkeys(str(r) for r in self.region))


@dataclass(frozen=True, eq=False)
class TrialTable:
    """The trials of one session as named columns of equal length.

    ``split`` (one of :data:`SPLIT_NAMES`) is required. Conventional columns: ``condition`` (int), time columns
    ending in ``_time`` (int64 nanoseconds on the session timeline, NLB's convention; ``NAT`` = missing) and
    per-trial behaviour named by the recording's :class:`BehaviorInfo` entries.
    """

    columns: Mapping[str, np.ndarray]

    def __post_init__(self) -> None:
        if "split" not in self.columns:
            raise ValueError("trial table: a 'split' column is required")
        n = len(self.columns["split"])
        for name, column in self.columns.items():
            _check_len(f"trials.{name}", column, n)
        bad = set(np.unique(np.asarray(self.columns["split"]).astype(str))) - set(SPLIT_NAMES)
        if bad:
            raise ValueError(f"trial table: unknown split labels {sorted(bad)} (expected {', '.join(SPLIT_NAMES)})")

    def __len__(self) -> int:
        return len(self.columns["split"])

    def __contains__(self, name: object) -> bool:
        return name in self.columns

    def __getitem__(self, name: str) -> np.ndarray:
        return self.columns[name]

    @property
    def split(self) -> np.ndarray:
        return np.asarray(self.columns["split"]).astype(str)

    @property
    def condition(self) -> np.ndarray | None:
        return self.columns.get("condition")

    def rows_in(self, splits: tuple[str, ...]) -> np.ndarray:
        """Indices of the trials whose split is in ``splits``, in table order."""
        return np.flatnonzero(np.isin(self.split, splits))


@dataclass(eq=False)
class SpikeBlock:
    """Spike events of a block of units on the session's 1 ms grid, sorted by time.

    Units recorded over the same observation intervals share a block (NLB: held-in units, held-out units).

    Attributes
    ----------
    ids
        The source's unit id of each column.
    spike_ms, spike_col
        Millisecond and column of every observed spike, sorted by millisecond (integers on NLB's 1 ms grid;
        float milliseconds for sources with finer times, e.g. IBL).
    observed
        Per millisecond of the timeline: True where the block's units were recorded (None: always).
    name
        Name of the block within its recording (NLB: ``"heldin"``, ``"heldout"``).
    rows
        Row of each column in the recording's unit table (None: rows ``0 .. n - 1``).
    """

    ids: np.ndarray
    spike_ms: np.ndarray
    spike_col: np.ndarray
    observed: np.ndarray | None
    name: str = "all"
    rows: np.ndarray | None = None

    @property
    def n_units(self) -> int:
        return len(self.ids)


@dataclass(frozen=True, eq=False)
class TrialSpikes:
    """Spike times of trial-cut data: one event per spike, flat arrays sorted by (trial, time).

    Times are in ms from the start of each trial's window. ``jittered`` says the times were drawn uniformly
    within the bins of binned counts (from a fixed seed) rather than recorded.
    """

    trial: np.ndarray
    time_ms: np.ndarray
    unit: np.ndarray
    jittered: bool = False

    def __len__(self) -> int:
        return len(self.trial)


@dataclass(frozen=True, eq=False)
class TrialSegments:
    """Binned counts already cut into trials (trials x bins x units), with what belongs to each bin.

    Attributes
    ----------
    bin_ms
        Bin width.
    counts
        Spike counts, float32 (NaN where a bin was not recorded).
    forward
        Counts of the bins right after each trial's window (trials x forward bins x units), or None.
    behavior, behavior_names
        Per-bin behaviour (trials x bins x k), already lagged to the spikes, and its column names.
    true_rates, true_forward_rates
        Ground-truth rates in expected counts per bin (synthetic data), shaped like ``counts`` / ``forward``.
    spike_times
        Within-trial spike times when the source has them (window and forward bins), else None.
    """

    bin_ms: float
    counts: np.ndarray
    forward: np.ndarray | None = None
    behavior: np.ndarray | None = None
    behavior_names: tuple[str, ...] = ()
    true_rates: np.ndarray | None = None
    true_forward_rates: np.ndarray | None = None
    spike_times: TrialSpikes | None = None

    def __post_init__(self) -> None:
        n_trials, _, n_units = self.counts.shape
        for name in ("forward", "true_rates", "true_forward_rates", "behavior"):
            value = getattr(self, name)
            if value is not None and (value.ndim != 3 or value.shape[0] != n_trials):
                raise ValueError(f"segments.{name}: expected {n_trials} trials x bins x columns, got {value.shape}")
        if self.true_rates is not None and self.true_rates.shape != self.counts.shape:
            raise ValueError(f"segments.true_rates: expected shape {self.counts.shape}, got {self.true_rates.shape}")
        if self.forward is not None and self.forward.shape[2] != n_units:
            raise ValueError(f"segments.forward: expected {n_units} units, got {self.forward.shape[2]}")

    @property
    def n_bins(self) -> int:
        return int(self.counts.shape[1])

    @property
    def forward_bins(self) -> int:
        return 0 if self.forward is None else int(self.forward.shape[1])


@dataclass(frozen=True)
class BehaviorInfo:
    """One behaviour variable a recording holds.

    ``kind``: ``"continuous"`` (per bin, e.g. hand velocity: in ``series`` or ``segments.behavior``),
    ``"categorical"`` (one label per trial, e.g. choice: a trial-table column) or ``"scalar"`` (one value per
    trial, e.g. DMFC's tp: trial-table columns).
    """

    name: str
    kind: str
    columns: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in BEHAVIOR_KINDS:
            raise ValueError(f"behavior {self.name!r}: kind {self.kind!r} not one of {', '.join(BEHAVIOR_KINDS)}")


@dataclass(eq=False)
class GridSeries:
    """A continuous series on the session's 1 ms grid, loaded on first use.

    ``load`` returns (n_ms x columns) values with NaN where the series has no sample; ``valid`` (optional)
    returns per ms whether a sample exists with no NaN column, without keeping the values.
    """

    name: str
    columns: tuple[str, ...]
    load: Callable[[], np.ndarray]
    valid: Callable[[], np.ndarray] | None = None
    _values: np.ndarray | None = field(default=None, repr=False)
    _valid: np.ndarray | None = field(default=None, repr=False)

    def values(self) -> np.ndarray:
        if self._values is None:
            self._values = self.load()
        return self._values

    def row_valid(self) -> np.ndarray:
        """True at each ms with a sample and no NaN column (all False when a column is NaN everywhere)."""
        if self._valid is None:
            if self._values is None and self.valid is not None:
                self._valid = self.valid()
            else:
                finite = ~np.isnan(self.values())
                all_ok = finite.any(axis=0).all()
                self._valid = finite.all(axis=1) if all_ok else np.zeros(len(finite), dtype=bool)
        return self._valid


@dataclass(frozen=True, eq=False)
class TimedSeries:
    """A continuous series sampled at its own times (seconds on the session timeline), e.g. video motion energy."""

    name: str
    timestamps: np.ndarray
    values: np.ndarray

    def __post_init__(self) -> None:
        if len(self.timestamps) != len(self.values):
            raise ValueError(f"series {self.name!r}: {len(self.timestamps)} timestamps, {len(self.values)} values")


@dataclass(eq=False)
class Recording:
    """One session: unit table, trial table, spikes (timeline blocks or trial segments) and behaviour.

    Attributes
    ----------
    name
        Dataset name (``"mc_maze_small"``, ``"lorenz"``).
    units, trials
        The unit and trial tables.
    spikes
        Spike blocks on the timeline (empty for trial-cut recordings).
    n_ms
        Length of the timeline in ms (0 for trial-cut recordings).
    segments
        Trial-cut binned data, or None for timeline recordings.
    series
        Continuous behaviour on the timeline, by name (on the 1 ms grid, or at its own sample times).
    behavior
        What behaviour the recording holds, and of which kind.
    provenance
        Where the data came from (source, version, sha256 of files, generator parameters).
    """

    name: str
    units: UnitTable
    trials: TrialTable
    spikes: tuple[SpikeBlock, ...] = ()
    n_ms: int = 0
    segments: TrialSegments | None = None
    series: Mapping[str, GridSeries | TimedSeries] = field(default_factory=dict)
    behavior: tuple[BehaviorInfo, ...] = ()
    provenance: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.spikes and self.segments is None:
            raise ValueError(f"recording {self.name!r}: no spikes (neither timeline blocks nor trial segments)")
        if self.segments is not None:
            n_trials, _, n_units = self.segments.counts.shape
            if n_trials != len(self.trials) or n_units != len(self.units):
                raise ValueError(f"recording {self.name!r}: segments are {n_trials} trials x {n_units} units, the "
                                 f"tables {len(self.trials)} x {len(self.units)}")

    @property
    def session(self) -> str:
        return self.units.session

    @property
    def binned_only(self) -> bool:
        """True when the recording holds binned counts but no spike times."""
        return not self.spikes and (self.segments is None or self.segments.spike_times is None)

    @property
    def n_trials(self) -> int:
        return len(self.trials)

    @property
    def n_units(self) -> int:
        return len(self.units)

    def block(self, name: str) -> SpikeBlock | None:
        """The spike block called ``name``, or None."""
        return next((block for block in self.spikes if block.name == name), None)


def qualified_ids(session: str, local_ids: np.ndarray) -> np.ndarray:
    """Session-qualified unit ids, ``"<session>/<local id>"``: unique across the sessions of a dataset."""
    return np.array([f"{session}/{x}" for x in local_ids], dtype=str)


def _check_len(name: str, column: np.ndarray, n: int) -> None:
    if len(column) != n:
        raise ValueError(f"{name}: expected {n} entries, got {len(column)}")
