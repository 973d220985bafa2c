"""Paired comparison of two models on the same task: each metric's difference with a paired bootstrap interval.

Each side is one run or several runs of one model (seeds). All records must come from the same task, version,
phase and dataset (so the same eval trials in the same order) and carry per-trial losses (schema 3,
:mod:`nbench.scoring.trials`). Each bootstrap resample draws eval trials with replacement once and evaluates
*both* sides on that draw, so variation both sides share (hard trials, silent neurons) cancels; sessions are
resampled independently and their differences averaged, as the task's metrics average sessions.

With one run per side, the interval covers eval-trial sampling only: it says whether *these two fitted models*
differ on trials like these, and two seeds of one model can differ significantly. With several runs per side,
each resample also draws each side's runs with replacement (a two-level bootstrap) and compares their means, so
the interval includes seed-to-seed variation. A difference is significant when its 95% interval excludes zero;
each metric is judged on its own (no correction for looking at several).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from nbench.errors import ValidationError
from nbench.metrics.bootstrap import percentile_interval, resample_weights
from nbench.results import Record
from nbench.scoring.trials import TrialLoss, decode_trials

DEFAULT_RESAMPLES = 2000


@dataclass(frozen=True)
class MetricComparison:
    """One metric of the two sides: their mean values, the difference A - B and its paired 95% interval."""

    metric: str
    value_a: float
    value_b: float
    higher_is_better: bool
    n_trials: int
    ci95: tuple[float, float] | None

    @property
    def difference(self) -> float:
        return self.value_a - self.value_b

    @property
    def significant(self) -> bool:
        return self.ci95 is not None and (self.ci95[0] > 0 or self.ci95[1] < 0)

    @property
    def better(self) -> str | None:
        """``"A"`` or ``"B"`` when the difference is significant, else None."""
        if not self.significant:
            return None
        return "A" if (self.difference > 0) == self.higher_is_better else "B"

    def to_dict(self) -> dict[str, object]:
        return {"metric": self.metric, "a": self.value_a, "b": self.value_b, "difference": self.difference,
                "ci95": list(self.ci95) if self.ci95 is not None else None, "higher_is_better": self.higher_is_better,
                "n_trials": self.n_trials, "significant": self.significant, "better": self.better}


@dataclass
class Comparison:
    """Two sides compared metric by metric; ``skipped`` says why a common metric has no comparison."""

    a: list[Record]
    b: list[Record]
    metrics: list[MetricComparison]
    skipped: dict[str, str] = field(default_factory=dict)
    resamples: int = DEFAULT_RESAMPLES
    seed: int = 0

    def __repr__(self) -> str:
        rows = "; ".join(f"{m.metric} {m.difference:+.4g} {m.better or 'n.s.'}" for m in self.metrics[:4])
        return f"<Comparison A = {label(self.a)}, B = {label(self.b)}: {rows}>"

    @property
    def seed_level(self) -> bool:
        """True when a side has several runs, so that intervals include seed-to-seed variation."""
        return len(self.a) > 1 or len(self.b) > 1

    def to_dict(self) -> dict[str, object]:
        return {"task": self.a[0].task, "a": [_who(r) for r in self.a], "b": [_who(r) for r in self.b],
                "resamples": self.resamples, "seed": self.seed, "seed_level": self.seed_level,
                "metrics": [m.to_dict() for m in self.metrics], "skipped": self.skipped}


def _who(record: Record) -> dict[str, object]:
    return {"model": record.model.get("name"), "seed": record.seed, "run_id": record.run_id, "kind": record.kind}


def label(records: Sequence[Record]) -> str:
    """``smoothing`` (one run), ``gpfa seeds 0, 1, 2`` (several)."""
    name = str(records[0].model.get("name"))
    if len(records) == 1:
        return name if records[0].seed is None else f"{name} seed {records[0].seed}"
    seeds = sorted((r.seed for r in records), key=lambda s: (s is None, s if s is not None else 0))
    return f"{name} seeds {', '.join(str(s) for s in seeds)}"


def compare_records(a: Record | Sequence[Record], b: Record | Sequence[Record], *,
                    resamples: int = DEFAULT_RESAMPLES, seed: int = 0, metrics: Sequence[str] = ()) -> Comparison:
    """Compare side ``a`` with side ``b`` (one record or several runs each; see the module docstring).

    ``metrics`` restricts the comparison to those metrics.

    Raises
    ------
    ValidationError
        One line when the runs are not on the same task, phase, data or eval trials, a side mixes models, or a
        record has no per-trial losses.
    """
    side_a, side_b = _side(a, "A"), _side(b, "B")
    _check_same_task(side_a + side_b)
    losses_a = [_decoded(r) for r in side_a]
    losses_b = [_decoded(r) for r in side_b]
    sessions = sorted(losses_a[0])
    for record, losses in zip(side_a + side_b, losses_a + losses_b, strict=True):
        if sorted(losses) != sessions:
            raise ValidationError(f"record {record.run_id}: sessions {sorted(losses)}, expected {sessions}")
    common = [m for m in side_a[0].metrics if all(m in r.metrics for r in side_a + side_b)]
    unknown = [m for m in metrics if m not in common]
    if unknown:
        raise ValidationError(f"metric {unknown[0]!r} is not in every record (common: {', '.join(common)})")
    rng = np.random.default_rng(seed)
    weights = {s: resample_weights(_n_trials(losses_a[0][s]), resamples, seed + i) for i, s in enumerate(sessions)}
    picks = (_run_draws(len(side_a), resamples, rng), _run_draws(len(side_b), resamples, rng))
    out, skipped = [], {}
    for name in [m for m in common if not metrics or m in metrics]:
        values = [[r.metrics[name].value for r in side] for side in (side_a, side_b)]
        if any(v is None for side in values for v in side):
            skipped[name] = "no value"
            continue
        per_session = [([x[s].get(name) for x in losses_a], [x[s].get(name) for x in losses_b]) for s in sessions]
        if any(loss is None for la, lb in per_session for loss in la + lb):
            skipped[name] = "no per-trial form (computed over conditions, not trials)"
            continue
        draws = [_draws(name, la, lb, weights[s], picks) for (la, lb), s in zip(per_session, sessions, strict=True)]
        n = sum(len(la[0].loss) for la, _ in per_session)  # type: ignore[union-attr]
        out.append(MetricComparison(name, float(np.mean(values[0])), float(np.mean(values[1])),
                                    side_a[0].metrics[name].higher_is_better, n,
                                    percentile_interval(np.mean(draws, axis=0))))
    return Comparison(side_a, side_b, out, skipped, resamples, seed)


def _side(records: Record | Sequence[Record], which: str) -> list[Record]:
    side = [records] if isinstance(records, Record) else list(records)
    if not side:
        raise ValidationError(f"side {which} has no records")
    models = {(r.model.get("name"), r.model.get("config_hash")) for r in side}
    if len(models) > 1:
        raise ValidationError(f"side {which} mixes models or configs ({', '.join(sorted(str(m[0]) for m in models))}"
                              "); each side is the runs of one model")
    return side


def _decoded(record: Record) -> dict[str, dict[str, TrialLoss]]:
    losses = decode_trials(record.trials, f"record {record.run_id}")
    if not losses:
        raise ValidationError(f"record {record.run_id} ({record.model.get('name')}) has no per-trial losses "
                              f"(written by an nbench older than record schema 3); run or score it again")
    return losses


def _n_trials(by_metric: dict[str, TrialLoss]) -> int:
    sizes = {len(loss.loss) for loss in by_metric.values()}
    if len(sizes) != 1:
        raise ValidationError(f"per-trial losses of different lengths in one session: {sorted(sizes)}")
    return sizes.pop()


def _run_draws(n_runs: int, resamples: int, rng: np.random.Generator) -> np.ndarray:
    """Resamples x runs multiplicities of the runs drawn with replacement (all ones for one run)."""
    if n_runs == 1:
        return np.ones((resamples, 1))
    draws = rng.integers(0, n_runs, size=(resamples, n_runs))
    return np.stack([np.bincount(row, minlength=n_runs) for row in draws]).astype(np.float64)


def _draws(name: str, side_a: list, side_b: list, weights: np.ndarray,
           picks: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Paired differences A - B of one session on every resample (trial weights and run draws)."""
    norm = side_a[0].norm_or_uniform()
    for loss in side_a + side_b:
        if len(loss.loss) != len(norm):
            raise ValidationError(f"{name}: the runs were scored on {len(norm)} and {len(loss.loss)} eval trials")
        if not np.allclose(loss.norm_or_uniform(), norm, rtol=1e-6, atol=0):
            raise ValidationError(f"{name}: the runs were scored on different eval data (per-trial spike counts "
                                  "differ)")
    mean_loss = [(p @ np.stack([x.loss for x in side])) / p.sum(axis=1, keepdims=True)
                 for p, side in zip(picks, (side_a, side_b), strict=True)]
    with np.errstate(invalid="ignore", divide="ignore"):
        return (weights * (mean_loss[1] - mean_loss[0])).sum(axis=1) / (weights @ norm)


def _check_same_task(records: list[Record]) -> None:
    """Every run must be on one task, version, phase and dataset version (hence the same eval trials)."""
    first = records[0]
    for record in records[1:]:
        for key in ("name", "version", "phase"):
            if record.task.get(key) != first.task.get(key):
                raise ValidationError(f"the runs are on different tasks: task {key} {first.task.get(key)!r} and "
                                      f"{record.task.get(key)!r}; compare runs of one task and phase")
        if record.dataset.get("version") != first.dataset.get("version"):
            raise ValidationError(f"the runs used different data: dataset version {first.dataset.get('version')!r} "
                                  f"and {record.dataset.get('version')!r}")
