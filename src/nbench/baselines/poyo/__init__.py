"""POYO (Azabou et al. 2023) through torch_brain 0.2.1, registered as model ``poyo``.

Spike tokens in, behaviour out: each trial window's held-in spikes (recorded times, or times drawn within bins
for binned-only data) are tokens of session-qualified units, and the model reads the task's behaviour out at
the bin centres. One model is trained across every session of a task (:meth:`POYOModel.fit_sessions`; unit
and session embeddings tell them apart) or on one session (:meth:`POYOModel.fit`). It predicts behaviour only,
so tasks that score rates alone refuse it.

Importing this package imports neither torch_brain nor ray (nor torch); fitting does. torch_brain is the
optional extra ``nbench[poyo]``.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nbench.baselines.base import Capabilities, Model, config_to_dict
from nbench.baselines.poyo.backend import check_installed
from nbench.baselines.poyo.config import POYOConfig, preset_config
from nbench.baselines.poyo.tokens import BehaviorCoding, SessionTrials, session_trials
from nbench.baselines.training import resolve_device, set_threads
from nbench.errors import ValidationError
from nbench.submission import Submission
from nbench.tasks.base import TaskInputs
from nbench.tasks.spiketimes import JITTER_SEED

__all__ = ["POYOConfig", "POYOModel"]


class POYOModel(Model):
    """PerceiverIO over spike tokens that predicts behaviour directly (``eval_behavior_pred``)."""

    name = "poyo"
    Config = POYOConfig
    capabilities = Capabilities(consumes=frozenset({"spike_times", "sessions"}), produces=frozenset({"behavior"}))

    def __init__(self, config: POYOConfig, seed: int = 0, workdir: Path | None = None, device: str = "auto") -> None:
        super().__init__(config, seed, workdir, device)
        # Checked here, before any data work: the config, the optional dependency and the device.
        self.config.validate()
        check_installed()
        self.torch_device = resolve_device(device)
        self.net: Any = None
        self.coding: BehaviorCoding | None = None
        #: Optional ``callback(epoch, mean training loss)`` called after every epoch.
        self.epoch_callback: Any = None

    @classmethod
    def preset(cls, family: str, bin_ms: float | None = None) -> POYOConfig | None:
        return preset_config(family)

    @classmethod
    def make_config(cls, family: str, overrides: dict[str, Any] | None = None, bin_ms: float | None = None
                    ) -> POYOConfig:
        check_installed()  # the runner makes the config first: a missing extra is the first and only message
        return super().make_config(family, overrides, bin_ms)

    def fit(self, inputs: TaskInputs) -> None:
        """Train on one session's view."""
        self.fit_sessions([inputs])

    def fit_sessions(self, inputs: Sequence[TaskInputs]) -> None:
        """Train one model on the views of several sessions (one view per session)."""
        import torch

        from nbench.baselines.poyo.train import Trainer
        from nbench.baselines.progress import fit_progress

        sessions = [v.session for v in inputs]
        if len(set(sessions)) != len(sessions):
            raise ValidationError(f"model 'poyo': one view per session expected, got sessions {sessions}")
        set_threads()
        self.coding = BehaviorCoding.fit(inputs)
        trials = [session_trials(v, "train") for v in inputs]
        targets = [self.coding.encode(v.train_behavior) for v in inputs]
        fingerprint = self._fingerprint(trials, targets)
        started = time.perf_counter()
        # Seeding happens inside a forked RNG so that fitting leaves the caller's global torch RNG untouched.
        with torch.random.fork_rng(devices=[]), fit_progress("POYO epoch", self.config.epochs) as progress:
            trainer = Trainer(self.config, self.coding, trials, targets, self.seed, self.torch_device,
                              self.workdir, fingerprint)
            summary = trainer.run(progress, self.epoch_callback)
        self.net = trainer.model
        self.device = str(self.torch_device)
        self.fit_info = {
            "recipe": self.config.recipe(), "sessions": sessions, "epochs": summary.epochs, "steps": summary.steps,
            "train_loss": [round(x, 5) for x in summary.history], "resumed_from_epoch": summary.resumed_from_epoch,
            "units": int(sum(len(t.unit_ids) for t in trials)), "training_trials": len(trainer.items),
            "parameters": int(sum(p.numel() for p in self.net.parameters())),
            "spike_times": spike_time_source(inputs), "device": self.device,
            "torch_threads": torch.get_num_threads(), "train_seconds": round(time.perf_counter() - started, 3)}

    def predict(self, inputs: TaskInputs) -> Submission:
        """Behaviour of the eval trials, predicted from their held-in spikes only."""
        from nbench.baselines.poyo.train import predict

        if self.net is None or self.coding is None:
            raise ValidationError("model 'poyo': predict() called before fit()")
        trials = session_trials(inputs, "eval")
        _check_known(self.net, trials)
        pred = predict(self.net, self.coding, trials, self.torch_device)
        return Submission(group=inputs.group, eval_behavior_pred=pred)

    def _fingerprint(self, trials: Sequence[SessionTrials], targets: Sequence[np.ndarray]) -> str:
        digest = hashlib.sha256(json.dumps({"config": config_to_dict(self.config), "seed": self.seed},
                                           sort_keys=True).encode())
        for t, target in zip(trials, targets, strict=True):
            digest.update(json.dumps([t.session, t.unit_ids.tolist(), t.window_s]).encode())
            for times, units in zip(t.times, t.units, strict=True):
                digest.update(np.ascontiguousarray(times).tobytes() + np.ascontiguousarray(units).tobytes())
            digest.update(np.ascontiguousarray(target).tobytes())
        return digest.hexdigest()


def spike_time_source(inputs: Sequence[TaskInputs]) -> str:
    """Where the spike times came from, for the run's provenance."""
    jittered = any(t is not None and t.jittered for v in inputs for t in (v.train_spike_times, v.eval_spike_times))
    if jittered:
        return f"jittered: drawn uniformly within the bins of binned counts (seed {JITTER_SEED})"
    return "recorded"


def _check_known(net: Any, trials: SessionTrials) -> None:
    """A one-line error when a view's session or units were not part of training (POYO would need new
    embeddings, i.e. unit identification, which this baseline does not do)."""
    if trials.session not in net.session_emb.vocab:
        raise ValidationError(f"model 'poyo': session {trials.session!r} was not among the training sessions")
    unknown = [u for u in trials.unit_ids if u not in net.unit_emb.vocab]
    if unknown:
        raise ValidationError(f"model 'poyo': unit {unknown[0]!r} was not among the training units")
