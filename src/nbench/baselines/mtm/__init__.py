"""MtM (multi-task masking, Zhang et al. 2024): models ``mtm`` and ``mtm_temporal`` (the same backbone trained
with temporal masking only, the NDT objective).

Both answer any query from one fit on every unit of every session's training trials: the runner fits them once per
task run and asks each query by zeroing the hidden units (and any forward bins) of the evaluation trials and, for
``mtm``, prompting with the scheme that matches the query (:func:`nbench.baselines.mtm.masking.query_scheme`).
A fit is stored under ``<out>/work/mtm-<fingerprint>``, keyed by config, seed and training data, so the task
families of one dataset (whose training data are the same) share it. Importing this package does not import torch.
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
from nbench.baselines.mtm.config import MTMConfig, preset_config
from nbench.baselines.mtm.masking import query_scheme
from nbench.errors import ValidationError
from nbench.extras import require
from nbench.submission import Submission
from nbench.tasks.base import TaskInputs

__all__ = ["MTMConfig", "MTMModel", "MTMTemporalModel"]


class MTMModel(Model):
    """Multi-task masking with prompts (four schemes per batch), across sessions, any query from one fit."""

    name = "mtm"
    Config = MTMConfig
    capabilities = Capabilities(consumes=frozenset({"bins", "sessions", "any_query"}), produces=frozenset({"rates"}))
    masking = "mtm"

    def __init__(self, config: MTMConfig, seed: int = 0, workdir: Path | None = None, device: str = "auto") -> None:
        from nbench.baselines.ndt import resolve_device

        require("torch", f"model {self.name!r}")  # here, so that a missing extra fails before any data work
        super().__init__(config, seed, workdir, device)
        self.config.validate()
        self.torch_device = resolve_device(device)  # an unavailable device fails before any data work
        self.net: Any = None
        self.columns: dict[str, dict[Any, int]] = {}

    @classmethod
    def preset(cls, family: str, bin_ms: float | None = None) -> MTMConfig | None:
        return preset_config(family, cls.masking)

    @classmethod
    def default_config(cls, family: str, bin_ms: float | None = None) -> MTMConfig:
        preset = cls.preset(family, bin_ms)
        return preset if preset is not None else MTMConfig(masking=cls.masking)

    def fit(self, inputs: TaskInputs) -> None:
        self.fit_sessions([inputs])

    def fit_sessions(self, inputs: Sequence[TaskInputs]) -> None:
        import torch

        from nbench.baselines.mtm.train import MtMTrainer
        from nbench.baselines.ndt import set_threads
        from nbench.baselines.ndt.progress import training_progress

        sessions = [_session_data(view) for view in inputs]
        self.columns = {view.session: {uid: i for i, uid in enumerate(view.heldin_ids.tolist())} for view in inputs}
        self.regions = {view.session: np.asarray(view.regions_heldin) for view in inputs}
        self.window_bins = inputs[0].n_bins
        set_threads()
        fingerprint = self._fingerprint(sessions)
        checkpoint = None if self.workdir is None else Path(self.workdir).parent / f"mtm-{fingerprint[:16]}"
        started = time.perf_counter()
        budget = training_progress(self.config.max_epochs, self.name, self.torch_device.type)
        with torch.random.fork_rng(devices=[]), budget as bar:
            trainer = MtMTrainer(self.config, sessions, self.seed, self.torch_device,
                                 None if checkpoint is None else checkpoint / "checkpoint.pt", fingerprint)
            summary = trainer.run(progress=bar)
        self.net, self.summary = trainer.model, summary
        self.device = str(self.torch_device)
        self.fit_info = {"epochs": summary.epochs, "best_epoch": summary.best_epoch,
                         "best_masked_val_nll": summary.best_val_nll, "resumed_from_epoch": summary.resumed_from_epoch,
                         "sessions": len(sessions), "device": self.device, "masking": self.config.masking,
                         "train_seconds": round(time.perf_counter() - started, 3),
                         "fit_dir": None if checkpoint is None else str(checkpoint)}

    def _fingerprint(self, sessions: list[Any]) -> str:
        digest = hashlib.sha256(json.dumps({"config": config_to_dict(self.config), "seed": self.seed,
                                            "model": self.name}, sort_keys=True).encode())
        for s in sessions:
            digest.update(s.name.encode())
            digest.update(np.ascontiguousarray(np.nan_to_num(s.counts, nan=-1.0)).tobytes())
        return digest.hexdigest()

    def predict(self, inputs: TaskInputs) -> Submission:
        """Rates of a query: the hidden units (and forward bins) zeroed, the matching prompt."""
        if self.net is None:
            raise ValidationError("model 'mtm': predict() called before fit()")
        if inputs.session not in self.columns:
            raise ValidationError(f"model 'mtm': session {inputs.session!r} was not in the fit")
        cols = self.columns[inputs.session]
        visible = np.array([cols[u] for u in inputs.heldin_ids.tolist()], dtype=np.int64)
        hidden = np.array([cols[u] for u in inputs.heldout_ids.tolist()], dtype=np.int64)
        regions = self.regions[inputs.session]
        behavior = inputs.behavior[0].name if inputs.behavior else None
        scheme = query_scheme(len(visible), len(hidden), inputs.forward_bins, regions[visible], regions[hidden],
                              behavior)
        scheme = scheme if self.masking == "mtm" else "temporal"
        ev = self._rates(inputs.eval_spikes_heldin, visible, inputs.session, scheme)
        t = inputs.n_bins
        fwd = inputs.forward_bins
        if fwd and scheme not in ("causal", "temporal"):
            # Forward bins are MtM's causal query whatever the window's query is (an NLB-style task asks both
            # in one submission): ask them again under the causal prompt.
            ev[:, t:] = self._rates(inputs.eval_spikes_heldin, visible, inputs.session, "causal")[:, t:]
        train = None  # train-trial rates only serve behaviour decoding: skip them for neural queries
        if inputs.behavior:
            train = self._rates(inputs.train_spikes_heldin, visible, inputs.session, scheme)
        return Submission(
            group=inputs.group, train_rates_heldin=None if train is None else train[:, :t, visible],
            train_rates_heldout=None if train is None else train[:, :t, hidden],
            eval_rates_heldin=ev[:, :t, visible], eval_rates_heldout=ev[:, :t, hidden],
            eval_rates_heldin_forward=ev[:, t:t + fwd, visible] if fwd else None,
            eval_rates_heldout_forward=ev[:, t:t + fwd, hidden] if fwd else None)

    def _rates(self, spikes: np.ndarray, visible: np.ndarray, session: str, scheme: str,
               batch_size: int = 128) -> np.ndarray:
        """Expected counts of every unit and bin (window then forward), only ``visible`` units given."""
        import torch

        n_units = len(self.columns[session])
        counts = np.zeros((len(spikes), self.net.n_bins, n_units), dtype=np.float32)
        counts[:, :spikes.shape[1], visible] = np.nan_to_num(spikes)
        out = np.empty_like(counts)
        self.net.eval()
        with torch.inference_mode():
            for start in range(0, len(counts), batch_size):
                chunk = torch.from_numpy(counts[start:start + batch_size]).to(self.torch_device)
                out[start:start + batch_size] = self.net(chunk, session, scheme).exp().cpu().numpy()
        return out


class MTMTemporalModel(MTMModel):
    """The same backbone trained with temporal masking only (NDT's objective), queried the same way."""

    name = "mtm_temporal"
    masking = "temporal"


def _session_data(view: TaskInputs) -> Any:
    """A session's training counts (window then forward bins, every unit) and the units' regions."""
    from nbench.baselines.mtm.train import SessionData

    counts = view.train_spikes_heldin
    if view.train_spikes_heldin_forward is not None:
        counts = np.concatenate([counts, view.train_spikes_heldin_forward], axis=1)
    regions = view.regions_heldin if view.regions_heldin is not None else np.full(view.n_heldin, "")
    return SessionData(view.session, np.asarray(counts, dtype=np.float32), np.asarray(regions).astype(str))
