"""The data adapter of the POYO baseline: a view's trials -> POYO samples (spike tokens in, behaviour out).

Each trial window is one POYO context: its spikes (times in seconds from the window start, held-in units only)
are tokens of units named by session-qualified ids (``"<session>/<unit>"``, one vocabulary across sessions), and
the session's name is its session token. Behaviour is read out at the centre of every bin, the times the task
scores: a continuous behaviour as a z-scored series (per bin; NaN bins are not trained on), a categorical one
as class logits averaged over the bin centres. Only training inputs of the view are read here: evaluation trials
contribute spikes, never behaviour.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import numpy as np

from nbench.data.recording import TrialSpikes, qualified_ids
from nbench.errors import ValidationError
from nbench.tasks.base import BehaviorSpec, TaskInputs


@dataclass(frozen=True, eq=False)
class SessionTrials:
    """The trials of one split of one view, as POYO reads them.

    Attributes
    ----------
    session
        Session token.
    unit_ids
        Session-qualified ids of the held-in units, in column order.
    times, units
        Per trial: spike times (s, from the window start, sorted) and the column of each spike's unit.
    window_s
        Length of the trial window (s).
    output_times
        Bin centres (s), where behaviour is read out.
    """

    session: str
    unit_ids: np.ndarray
    times: list[np.ndarray]
    units: list[np.ndarray]
    window_s: float
    output_times: np.ndarray

    def __len__(self) -> int:
        return len(self.times)


def session_trials(inputs: TaskInputs, split: str) -> SessionTrials:
    """The ``"train"`` or ``"eval"`` trials of ``inputs`` (which must hold spike times)."""
    events: TrialSpikes | None = getattr(inputs, f"{split}_spike_times")
    n_trials = inputs.n_train if split == "train" else inputs.n_eval
    if events is None:
        raise ValidationError(f"model 'poyo': view {inputs.group!r} has no {split} spike times (the task must be "
                              "built with spike_times=True)")
    bounds = np.searchsorted(events.trial, np.arange(n_trials + 1))
    times = [events.time_ms[a:b] / 1000.0 for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    units = [events.unit[a:b].astype(np.int64) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    ids = inputs.heldin_ids if inputs.heldin_ids is not None else np.arange(inputs.n_heldin)
    bin_s = inputs.bin_ms / 1000.0
    centres = ((np.arange(inputs.n_bins) + 0.5) * bin_s).astype(np.float32)
    return SessionTrials(inputs.session, qualified_ids(inputs.session, ids), times, units,
                         inputs.n_bins * inputs.bin_ms / 1000.0, centres)


@dataclass(frozen=True)
class BehaviorCoding:
    """How a task's behaviour becomes training targets and model outputs become predictions.

    Continuous behaviour is z-scored per column with the training trials' mean and spread; categorical labels
    become class indices of the classes seen in training.
    """

    spec: BehaviorSpec
    mean: np.ndarray
    std: np.ndarray
    classes: np.ndarray

    @property
    def categorical(self) -> bool:
        return self.spec.kind == "categorical"

    @property
    def dim_out(self) -> int:
        return len(self.classes) if self.categorical else len(self.mean)

    @classmethod
    def fit(cls, views: Sequence[TaskInputs]) -> BehaviorCoding:
        """The coding of the behaviour that ``views`` score, from their training behaviour."""
        specs = {v.behavior[0] for v in views if v.behavior}
        if len(specs) != 1 or any(v.train_behavior is None for v in views):
            raise ValidationError("model 'poyo' predicts behaviour: every view needs the same scored behaviour and "
                                  f"training behaviour (found {sorted(s.name for s in specs) or 'none'})")
        spec = specs.pop()
        if spec.kind not in ("continuous", "categorical"):
            raise ValidationError(f"model 'poyo': behaviour {spec.name!r} is {spec.kind}; POYO predicts continuous "
                                  "series and categorical labels")
        if spec.kind == "categorical":
            labels = np.concatenate([np.asarray(v.train_behavior, np.float64).reshape(-1) for v in views])
            classes = np.unique(labels[~np.isnan(labels)])
            return cls(spec, np.zeros(0), np.ones(0), classes)
        widths = {v.train_behavior.shape[-1] for v in views}
        if len(widths) != 1 or any(v.train_behavior.ndim != 3 for v in views):
            raise ValidationError(f"model 'poyo': continuous behaviour must be trials x bins x k with one k across "
                                  f"sessions (found {sorted(widths)})")
        width = widths.pop()
        rows = np.concatenate([np.asarray(v.train_behavior, np.float64).reshape(-1, width) for v in views])
        mean, std = np.nanmean(rows, axis=0), np.nanstd(rows, axis=0)
        return cls(spec, mean, np.where(std > 0, std, 1.0), np.zeros(0))

    def encode(self, behavior: np.ndarray) -> np.ndarray:
        """Targets of training trials: z-scored float32 series (NaN kept), or int64 class indices (-1 = none)."""
        values = np.asarray(behavior, dtype=np.float64)
        if not self.categorical:
            return ((values - self.mean) / self.std).astype(np.float32)
        labels = values.reshape(len(values), -1)[:, 0]
        index = np.searchsorted(self.classes, labels)
        known = ~np.isnan(labels) & (index < len(self.classes))
        known[known] = self.classes[index[known]] == labels[known]
        return np.where(known, index, -1).astype(np.int64)

    def decode(self, outputs: np.ndarray) -> np.ndarray:
        """Predictions from model outputs: series (trials x bins x k) or labels (trials x 1) from mean logits."""
        if self.categorical:
            return self.classes[np.argmax(outputs, axis=-1)].reshape(-1, 1)
        return outputs * self.std + self.mean


def sample(model: Any, trials: SessionTrials, i: int, keep: np.ndarray | None = None,
           target: np.ndarray | None = None) -> dict[str, Any]:
    """Trial ``i`` tokenised by ``model`` (``POYO.tokenize``), with its readout times and target.

    ``keep`` (sorted unit columns) drops the other units' spikes and tokens (unit dropout). ``target`` is the
    trial's encoded behaviour: a bins x k series (NaN: not trained on) or a class index.
    """
    from nbench.baselines.poyo.backend import batching

    _, pad8, track_mask8 = batching()
    ids, times, units = trials.unit_ids, trials.times[i], trials.units[i]
    if keep is not None:
        position = np.full(len(ids), -1)
        position[keep] = np.arange(len(keep))
        chosen = position[units] >= 0
        ids, times, units = ids[keep], times[chosen], position[units[chosen]]
    data = SimpleNamespace(units=SimpleNamespace(id=ids.tolist()),
                           spikes=SimpleNamespace(timestamps=times, unit_index=units),
                           session=SimpleNamespace(id=trials.session))
    out = dict(model.tokenize(data), output_timestamps=pad8(trials.output_times),
               output_mask=track_mask8(trials.output_times))
    if target is not None and target.ndim == 2:
        out["target"] = pad8(np.nan_to_num(target))
        out["target_mask"] = pad8(~np.isnan(target))
    elif target is not None:
        out["label"] = int(target)
    return out
