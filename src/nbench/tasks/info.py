"""What a task declares: its metrics, dataset pin, citation, behaviour and what it offers models.

The single source of truth for a task's name, version and scoring (mteb's task metadata in spirit): the scorer
computes the declared metrics, the runner checks a model's capabilities against it before any data work, and
``nbench list tasks`` shows it without reading data.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from nbench.metrics import REACH_DIRECTION

BEHAVIOR_DECODERS = ("nlb_ridge", "ridge_cv", "logistic_cv", "tp_corr")
SPIKE_TIME_SOURCES = ("recorded", "jittered", "none")


@dataclass(frozen=True)
class DatasetPin:
    """Exactly which data a task is built on.

    Attributes
    ----------
    source
        ``"DANDI"``, ``"synthetic"``, ``"imported"`` ...
    id
        Identifier within the source (dandiset id, generator name, import name).
    version
        Pinned version (a published dandiset version, a generator version and parameter hash, a file digest).
    sha256
        Digest of each file by name, where known before download.
    """

    source: str
    id: str
    version: str
    sha256: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.source}:{self.id}@{self.version}"


@dataclass(frozen=True)
class BehaviorSpec:
    """A behaviour variable a task scores, and how.

    Attributes
    ----------
    name
        ``"vel"`` (NLB hand or finger velocity), ``"tp"`` (DMFC), ``"choice"``, ``"whisker"`` ...
    kind
        ``"continuous"`` (per bin), ``"categorical"`` (one label per trial) or ``"scalar"`` (one value per trial).
    decoder
        How behaviour is decoded from predicted rates: ``"nlb_ridge"`` (NLB's vel R2 protocol), ``"ridge_cv"``,
        ``"logistic_cv"`` (accuracy) or ``"tp_corr"`` (DMFC's neural-speed correlation).
    """

    name: str
    kind: str
    decoder: str

    def __post_init__(self) -> None:
        if self.decoder not in BEHAVIOR_DECODERS:
            raise ValueError(f"behavior {self.name!r}: unknown decoder {self.decoder!r}")

    @property
    def decoded_metric(self) -> str:
        """Id of the metric decoded from rates (NLB's own names for NLB's velocity and DMFC's tp)."""
        if self.decoder == "nlb_ridge" and self.name == "vel":
            return "vel R2"
        if self.decoder == "tp_corr":
            return "tp corr"
        return f"{self.name} {'accuracy' if self.kind == 'categorical' else 'R2'} (decoded)"

    @property
    def latent_metric(self) -> str | None:
        """Id of the metric decoded from a model's latents by this behaviour's decoder, or None (DMFC's tp corr
        is defined on rates only)."""
        if self.decoder == "tp_corr":
            return None
        return f"{self.name} {'accuracy' if self.kind == 'categorical' else 'R2'} (from latents)"

    @property
    def predicted_metric(self) -> str | None:
        """Id of the metric of directly predicted behaviour (``eval_behavior_pred``), or None if not scored."""
        if self.kind == "scalar":
            return None
        return f"{self.name} {'accuracy' if self.kind == 'categorical' else 'R2'} (predicted)"


def latent_metrics(spec: BehaviorSpec, family: str) -> tuple[str, ...]:
    """The metrics a task declares for behaviour decoded from a model's latents: the behaviour's own decoder and,
    for the velocity of the maze reaching datasets (family ``mc_maze*``), the reach-direction accuracy."""
    metrics = (spec.latent_metric,) if spec.latent_metric else ()
    if spec.name == "vel" and spec.kind == "continuous" and family.startswith("mc_maze"):
        metrics += (REACH_DIRECTION,)
    return metrics


@dataclass(frozen=True)
class TaskInfo:
    """Static metadata of a task: the single source of truth for its name, version, metrics and data.

    Attributes
    ----------
    name
        Registry name, e.g. ``"lorenz"`` or ``"mc_maze_small_20"``.
    dataset
        Dataset name the task is built on.
    bin_ms
        Bin width in ms.
    version
        Task version; bumped whenever inputs or targets change, so records stay comparable.
    description
        One-line description.
    phases
        Phases the task supports; the first is the default.
    main_metric
        The headline metric, e.g. ``"co-bps"``.
    metrics
        The metrics the scorer computes (ids of :data:`nbench.metrics.METRICS`), in display order.
    family
        Dataset family that model presets are keyed by (``"mc_maze_small"`` for both bin sizes); ``""`` means
        the dataset name. A preset keyed by the task's own name comes first (:attr:`preset_keys`).
    pin
        Dataset pin (source, id, version, file digests), or None where the data are the user's own.
    citation
        Where the data and the task come from.
    behavior
        Behaviour the task scores (empty for rate-only tasks).
    n_sessions
        Number of sessions (recordings) the task holds.
    spike_times
        Whether models asking for spike times get recorded ones, times drawn within bins, or none.
    queries
        What the queries are, in words (``"held-out neurons"``, ``"each region in turn"``).
    """

    name: str
    dataset: str
    bin_ms: float
    version: str
    description: str
    phases: tuple[str, ...] = ("val", "test")
    main_metric: str = "co-bps"
    metrics: tuple[str, ...] = ()
    family: str = ""
    pin: DatasetPin | None = None
    citation: str = ""
    behavior: tuple[BehaviorSpec, ...] = ()
    n_sessions: int = 1
    spike_times: str = "none"
    queries: str = "held-out neurons"

    def __post_init__(self) -> None:
        if self.spike_times not in SPIKE_TIME_SOURCES:
            raise ValueError(f"task {self.name!r}: spike_times {self.spike_times!r} not in {SPIKE_TIME_SOURCES}")

    @property
    def default_phase(self) -> str:
        return self.phases[0]

    @property
    def preset_family(self) -> str:
        return self.family or self.dataset

    @property
    def preset_keys(self) -> tuple[str, ...]:
        """Keys a model's presets are looked up by, most specific first: the task's name (a preset for one
        protocol, e.g. ``lorenz_rates``), then its dataset family."""
        return tuple(dict.fromkeys((self.name, self.preset_family)))

    @property
    def scores_rates(self) -> bool:
        """True when some declared metric is computed from predicted rates."""
        predicted = {spec.predicted_metric for spec in self.behavior}
        return any(m not in predicted for m in self.metrics)
