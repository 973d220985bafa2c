"""Task interface: what a task declares (``TaskInfo``), the problems it poses (``Query``), what a model sees
(``TaskInputs``) and what only the scorer sees (``Targets``).

A task is a dataset at one bin size; a *phase* picks the trial splits the way NLB does (``val``: fit on ``train``,
evaluate on ``val``; ``test``: fit on ``train`` + ``val``, evaluate on ``test``). A task poses one or more
*queries* per session: which units are hidden on the evaluation trials (their rates are scored) and which are
visible (their spikes are model inputs). An NLB task is one query (the held-out neurons); region prediction is
one query per region; leave-one-neuron-out is one query per neuron. :meth:`Task.build` returns one
:class:`View` per (session, query): the model inputs and the hidden targets of that query.

Array names follow the NLB'21 tensor and target-file names so that NLB files map onto these one to one: in a
view, *held-in* means visible and *held-out* means hidden.
"""

from __future__ import annotations

from abc import ABC
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nbench.data.recording import TrialSpikes
from nbench.tasks.info import BehaviorSpec, DatasetPin, TaskInfo

__all__ = ["PHASE_SPLITS", "BehaviorSpec", "DatasetPin", "PreparedTask", "Query", "Targets", "Task", "TaskInfo",
           "TaskInputs", "View", "single_view", "training_inputs"]

PHASE_SPLITS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "val": (("train",), ("val",)),
    "test": (("train", "val"), ("test",)),
}


@dataclass(frozen=True, eq=False)
class Query:
    """One scored problem of one session: hide ``hidden`` units on evaluation trials, give ``visible`` ones.

    Units not in either set are absent from the view (e.g. neurons outside the region in MtM's intra-region
    queries). ``name`` is unique within the session and safe as an HDF5 group name.
    """

    name: str
    session: str
    visible: np.ndarray
    hidden: np.ndarray

    def __post_init__(self) -> None:
        if "/" in self.name or not self.name:
            raise ValueError(f"query name {self.name!r}: expected a non-empty name without '/'")
        if np.intersect1d(self.visible, self.hidden).size:
            raise ValueError(f"query {self.name!r}: a unit is both visible and hidden")


@dataclass(frozen=True, eq=False)
class TaskInputs:
    """Everything a model may use for one view (a session and a query). Arrays are float64 or float32 counts,
    trials x bins x neurons; *held-in* neurons are the query's visible units, *held-out* its hidden units.

    Attributes
    ----------
    task, dataset, phase
        Names of the task, its dataset and the phase.
    group
        Submission group of this view (``"mc_maze"``; ``"<task>/<session>/<query>"`` for multi-view tasks).
    bin_ms
        Bin width in ms; rates are predicted in expected counts per bin.
    train_spikes_heldin, train_spikes_heldout
        Training trials, held-in and held-out neurons.
    eval_spikes_heldin
        Evaluation trials, held-in neurons only (held-out neurons of eval trials are targets).
    train_spikes_heldin_forward, train_spikes_heldout_forward
        Training trials' forward window (``forward_bins`` bins after the trial window), or None.
    train_behavior
        Training behavior (trials x bins x k, lag applied) or per-trial values (trials x k), or None.
    train_conditions
        Condition label per training trial, or None.
    heldin_ids, heldout_ids
        Neuron identifiers in column order.
    regions_heldin, regions_heldout
        Brain-region label per neuron, or None.
    dataset_info
        Provenance of the data (source, version, sha256) for records.
    session, query
        The view's session and query name.
    behavior
        The behaviour the task scores (kinds, decoders), so that models predicting behaviour know what to give.
    train_spike_times, eval_spike_times
        Spike times of the held-in neurons within each trial window (only when a model asks for them).
    train_trial_ids, eval_trial_ids
        Identifier of each trial in row order (the recording's ``trial_id``, else its row in the recording's
        trial table): the trial order every submission array follows.
    """

    task: str
    dataset: str
    phase: str
    group: str
    bin_ms: float
    train_spikes_heldin: np.ndarray
    train_spikes_heldout: np.ndarray
    eval_spikes_heldin: np.ndarray
    train_spikes_heldin_forward: np.ndarray | None = None
    train_spikes_heldout_forward: np.ndarray | None = None
    train_behavior: np.ndarray | None = None
    train_conditions: np.ndarray | None = None
    heldin_ids: np.ndarray | None = None
    heldout_ids: np.ndarray | None = None
    regions_heldin: np.ndarray | None = None
    regions_heldout: np.ndarray | None = None
    dataset_info: dict[str, Any] = field(default_factory=dict)
    session: str = ""
    query: str = ""
    behavior: tuple[BehaviorSpec, ...] = ()
    train_spike_times: TrialSpikes | None = None
    eval_spike_times: TrialSpikes | None = None
    train_trial_ids: np.ndarray | None = None
    eval_trial_ids: np.ndarray | None = None

    @property
    def n_train(self) -> int:
        return int(self.train_spikes_heldin.shape[0])

    @property
    def n_eval(self) -> int:
        return int(self.eval_spikes_heldin.shape[0])

    @property
    def n_bins(self) -> int:
        return int(self.train_spikes_heldin.shape[1])

    @property
    def n_heldin(self) -> int:
        return int(self.train_spikes_heldin.shape[2])

    @property
    def n_heldout(self) -> int:
        return int(self.train_spikes_heldout.shape[2])

    @property
    def forward_bins(self) -> int:
        fwd = self.train_spikes_heldin_forward
        return 0 if fwd is None else int(fwd.shape[1])

    def __repr__(self) -> str:
        return (f"TaskInputs(task={self.task!r}, group={self.group!r}, phase={self.phase!r}, "
                f"{self.n_train} train / {self.n_eval} eval trials x {self.n_bins} bins of {self.bin_ms:g} ms, "
                f"{self.n_heldin} held-in / {self.n_heldout} held-out neurons, forward {self.forward_bins})")


@dataclass(frozen=True, eq=False)
class Targets:
    """Hidden evaluation data of one view; the NLB target-file keys plus nbench extensions.

    Which metrics are computed is declared by the task (``metrics``; for NLB target files, by the NLB task of
    the group's name), never inferred from which arrays exist.

    Attributes
    ----------
    group
        Submission group this target belongs to.
    eval_spikes_heldout
        True held-out counts of eval trials (NaN outside the scored window, e.g. DMFC).
    train_behavior, eval_behavior
        Behavior for the behaviour metrics: per bin (lagged) or per trial (DMFC's five columns; a categorical
        label per trial).
    eval_spikes_heldin_forward, eval_spikes_heldout_forward
        True forward-window counts of eval trials.
    train_decode_mask, eval_decode_mask
        trials x masks booleans (Area2_Bump: active / passive); None means one all-True mask.
    psth, eval_cond_idx, eval_jitter
        True PSTHs (conditions x bins x all neurons), eval-trial indices per condition, per-trial jitter in bins.
    eval_true_rates_heldin, eval_true_rates_heldout
        Ground-truth rates (expected counts per bin) of eval trials (synthetic data only).
    reference
        Reference metric values that give scores context (e.g. the condition-average rate R2), computed by the
        task from the data; reported beside a submission's metrics, never from it.
    metrics
        The declared metric ids of this view (empty: the NLB task named by ``group`` declares them).
    behavior
        The scored behaviour, or None.
    """

    group: str
    eval_spikes_heldout: np.ndarray
    train_behavior: np.ndarray | None = None
    eval_behavior: np.ndarray | None = None
    eval_spikes_heldin_forward: np.ndarray | None = None
    eval_spikes_heldout_forward: np.ndarray | None = None
    train_decode_mask: np.ndarray | None = None
    eval_decode_mask: np.ndarray | None = None
    psth: np.ndarray | None = None
    eval_cond_idx: list[np.ndarray] | None = None
    eval_jitter: np.ndarray | None = None
    eval_true_rates_heldin: np.ndarray | None = None
    eval_true_rates_heldout: np.ndarray | None = None
    reference: dict[str, float] = field(default_factory=dict)
    metrics: tuple[str, ...] = ()
    behavior: BehaviorSpec | None = None

    @property
    def n_eval(self) -> int:
        return int(self.eval_spikes_heldout.shape[0])

    def __repr__(self) -> str:
        present = [k for k in ("eval_behavior", "eval_spikes_heldin_forward", "psth", "eval_true_rates_heldin")
                   if getattr(self, k) is not None]
        return (f"Targets(group={self.group!r}, eval_spikes_heldout{tuple(self.eval_spikes_heldout.shape)}, "
                f"with {', '.join(present) or 'nothing else'}, metrics={list(self.metrics)})")


@dataclass(frozen=True, eq=False)
class View:
    """One (session, query) of a task: the model inputs and the hidden targets, built when asked for.

    A task of many queries (one per neuron) would not fit in memory with every view's arrays at once, so views
    build their arrays on each access; use :meth:`of` for arrays already built.
    """

    query: Query
    group: str
    make_inputs: Callable[[], TaskInputs]
    make_targets: Callable[[], Targets]

    @classmethod
    def of(cls, query: Query, inputs: TaskInputs, targets: Targets) -> View:
        return cls(query, inputs.group, lambda: inputs, lambda: targets)

    @property
    def inputs(self) -> TaskInputs:
        return self.make_inputs()

    @property
    def targets(self) -> Targets:
        return self.make_targets()

    def __repr__(self) -> str:
        q = self.query
        return (f"View(group={self.group!r}, query {q.name!r} of session {q.session!r}: {len(q.visible)} visible / "
                f"{len(q.hidden)} hidden units)")


@dataclass(frozen=True, eq=False)
class PreparedTask:
    """A task built for one phase: every view, and per session what a model that answers any query fits on.

    ``training`` builds, per session, the training trials of every unit (all visible, nothing hidden) and no
    evaluation activity; models that answer any query from one fit are fit on it, then predict every view.
    """

    info: TaskInfo
    phase: str
    views: tuple[View, ...]
    training: dict[str, Callable[[], TaskInputs]]

    @property
    def sessions(self) -> list[str]:
        return list(dict.fromkeys(view.query.session for view in self.views))

    def views_of(self, session: str) -> list[View]:
        return [view for view in self.views if view.query.session == session]

    def training_view(self, session: str) -> TaskInputs:
        """The session's training trials with every unit visible (see the class docstring)."""
        return self.training[session]()

    @property
    def single(self) -> bool:
        """True for the NLB shape: one session, one query, the submission group is the task name."""
        return len(self.views) == 1 and self.views[0].group == self.info.name

    def __repr__(self) -> str:
        return (f"PreparedTask({self.info.name!r}, phase={self.phase!r}: {len(self.views)} view(s) over "
                f"{len(self.sessions)} session(s))")


class Task(ABC):  # noqa: B024 (a subclass implements build, or prepare for a single view)
    """A benchmark task: builds the views (model inputs and hidden targets) of a phase.

    Subclasses set ``self.info`` (a :class:`TaskInfo`) in ``__init__`` and implement :meth:`build`. A task of
    one view may implement :meth:`prepare` instead (inputs and targets of the one query, which hides the
    ``heldout`` neurons); :meth:`build` then wraps it.
    """

    info: TaskInfo

    def build(self, phase: str | None = None, *, spike_times: bool = False) -> PreparedTask:
        """Every view of ``phase`` (default: the task's default phase).

        ``spike_times`` asks for within-window spike times of the visible units in the inputs.
        """
        if type(self).prepare is Task.prepare:
            raise NotImplementedError(f"task {type(self).__name__} implements neither build() nor prepare()")
        phase = self.resolve_phase(phase)
        inputs, targets = self.prepare(phase)
        if not targets.metrics:
            from dataclasses import replace

            targets = replace(targets, metrics=self.info.metrics)
        query = Query("heldout", inputs.session or self.info.dataset, np.arange(inputs.n_heldin),
                      inputs.n_heldin + np.arange(inputs.n_heldout))
        return single_view(self.info, phase, inputs, targets, query)

    def prepare(self, phase: str | None = None) -> tuple[TaskInputs, Targets]:
        """Inputs and targets of a single-view task (NLB and the synthetic co-smoothing tasks)."""
        from nbench.errors import ValidationError

        prepared = self.build(phase)
        if len(prepared.views) != 1:
            raise ValidationError(f"task {self.info.name!r} poses {len(prepared.views)} queries; use build()")
        view = prepared.views[0]
        return view.inputs, view.targets

    def resolve_phase(self, phase: str | None) -> str:
        """Return ``phase`` or the default, raising a one-line error for an unsupported phase."""
        from nbench.errors import ValidationError

        phase = phase or self.info.default_phase
        if phase not in self.info.phases:
            raise ValidationError(
                f"task {self.info.name!r}: phase {phase!r} is not supported (expected one of "
                f"{', '.join(self.info.phases)})")
        return phase

    def __repr__(self) -> str:
        info = self.info
        return (f"<{type(self).__name__} {info.name!r}: {info.description}; metrics {', '.join(info.metrics)}; "
                f"phases {', '.join(info.phases)}>")


def single_view(info: TaskInfo, phase: str, inputs: TaskInputs, targets: Targets, query: Query) -> PreparedTask:
    """A prepared single-view task whose training view is the one view with every unit visible."""
    return PreparedTask(info, phase, (View.of(query, inputs, targets),),
                        {query.session: lambda: training_inputs(inputs)})


def training_inputs(inputs: TaskInputs) -> TaskInputs:
    """The view's training trials with hidden units turned visible and no evaluation activity.

    Used as the fit input of models that answer any query: they learn from every unit of the training trials.
    """
    from dataclasses import replace

    def joined(a: np.ndarray | None, b: np.ndarray | None) -> np.ndarray | None:
        return None if a is None or b is None else np.concatenate([a, b], axis=-1)

    empty_eval = np.zeros((0,) + inputs.train_spikes_heldin.shape[1:2] + (inputs.n_heldin + inputs.n_heldout,),
                          dtype=inputs.train_spikes_heldin.dtype)
    no_units = inputs.train_spikes_heldin[..., :0]
    return replace(
        inputs, group=inputs.group, query="all units",
        train_spikes_heldin=joined(inputs.train_spikes_heldin, inputs.train_spikes_heldout),
        train_spikes_heldout=no_units, eval_spikes_heldin=empty_eval,
        train_spikes_heldin_forward=joined(inputs.train_spikes_heldin_forward, inputs.train_spikes_heldout_forward),
        train_spikes_heldout_forward=None if inputs.train_spikes_heldout_forward is None else
        inputs.train_spikes_heldout_forward[..., :0],
        heldin_ids=joined(inputs.heldin_ids, inputs.heldout_ids), heldout_ids=np.zeros(0, dtype=object),
        regions_heldin=joined(inputs.regions_heldin, inputs.regions_heldout),
        regions_heldout=None if inputs.regions_heldout is None else inputs.regions_heldout[:0],
        eval_spike_times=None, train_spike_times=None,
        eval_trial_ids=None if inputs.eval_trial_ids is None else inputs.eval_trial_ids[:0])
