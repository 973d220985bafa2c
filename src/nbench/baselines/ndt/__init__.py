"""Neural Data Transformer baseline (Ye & Pandarinath 2021), registered as model ``ndt``.

Importing this package does not import torch; :meth:`NDTModel.fit` does.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from nbench.baselines.base import Model, Resources, config_to_dict
from nbench.baselines.ndt.config import NDTConfig, preset_config
from nbench.baselines.ndt.data import (
    Layout,
    coarsen_inputs,
    heldin_counts,
    max_spikes_of,
    split_rates,
    spread_rates,
    sum_bins,
    training_targets,
)
from nbench.baselines.training import resolve_device, set_threads
from nbench.errors import ValidationError
from nbench.extras import require
from nbench.submission import Submission
from nbench.tasks.base import TaskInputs

__all__ = ["NDTConfig", "NDTModel", "resolve_device", "set_threads"]


class NDTModel(Model):
    """Masked-modelling transformer over binned spikes; predicts rates of every bin, neuron and forward bin.

    Held-out neurons enter as zero channels and forward bins as zero time steps; both are always loss targets
    during training and are predicted from held-in activity alone at evaluation.
    """

    name = "ndt"
    Config = NDTConfig
    #: Two torch threads (the measured CPU runs of docs/ndt.md); one GPU where the device and cluster allow.
    resources = Resources(cpus=2, gpus=1)

    def __init__(self, config: NDTConfig, seed: int = 0, workdir: Path | None = None, device: str = "auto") -> None:
        require("torch", "model 'ndt'")
        super().__init__(config, seed, workdir, device)
        # Checked here, not in fit(), so that a bad config or device fails before any work starts.
        self.config.validate()
        self.torch_device = resolve_device(device)
        self.net: Any = None
        self.nets: list[Any] = []  # ensemble members (``net`` is the first)
        self.summaries: list[Any] = []
        #: Sizes in the task's bins (what ``rates`` returns) and in the network's bins (``bin_factor`` wider).
        self.layout: Layout | None = None
        self.model_layout: Layout | None = None
        self.summary: Any = None
        #: Optional ``callback(epoch, train_loss, val_loss_or_None)`` called after every epoch.
        self.epoch_callback: Any = None

    @classmethod
    def preset(cls, family: str, bin_ms: float | None = None) -> NDTConfig | None:
        return preset_config(family, bin_ms)

    def fit(self, inputs: TaskInputs) -> None:
        import torch

        _check_inputs(inputs)
        set_threads()
        self.layout = Layout.of(inputs)
        wide = coarsen_inputs(inputs, self.config.bin_factor)
        self.model_layout = Layout.of(wide)
        self.max_spikes = max_spikes_of(wide)
        targets = training_targets(wide, self.model_layout)
        size = self.config.ensemble
        started = time.perf_counter()
        self.nets = []  # filled at the end: while a member trains, rates() are that member's (epoch callbacks)
        members = [self._fit_member(targets, member) for member in range(size)]
        self.nets, self.summaries = [net for net, _ in members], [summary for _, summary in members]
        self.net, self.summary = self.nets[0], self.summaries[0]
        self.device = str(self.torch_device)
        self.fit_info = {
            "epochs": self.summary.epochs, "best_epoch": self.summary.best_epoch,
            "best_masked_val_nll": self.summary.best_val_nll, "selected_by": self.config.select_by,
            "best_val_co_bps": self.summary.best_val_co_bps, "stopped_early": self.summary.stopped_early,
            "resumed_from_epoch": self.summary.resumed_from_epoch, "device": self.device,
            "torch_threads": torch.get_num_threads(), "train_seconds": round(time.perf_counter() - started, 3)}
        if size > 1:
            self.fit_info["members"] = [
                {"seed": self.member_seed(k), "epochs": m.epochs, "best_epoch": m.best_epoch,
                 "best_masked_val_nll": m.best_val_nll, "best_val_co_bps": m.best_val_co_bps}
                for k, m in enumerate(self.summaries)]

    def member_seed(self, member: int) -> int:
        """Seed of ensemble member ``member``: ``seed * ensemble + member``, so different run seeds never share
        a member (a single model, ``ensemble`` 1, keeps the run's seed)."""
        return self.seed * self.config.ensemble + member

    def _fit_member(self, targets: np.ndarray, member: int) -> tuple[Any, Any]:
        """Train one member (its own seed, held-back split and checkpoint folder); its net and fit summary."""
        import torch

        from nbench.baselines.ndt.progress import training_progress
        from nbench.baselines.ndt.train import Trainer

        size, seed = self.config.ensemble, self.member_seed(member)
        workdir = self.workdir if size == 1 or self.workdir is None else Path(self.workdir) / f"member{member}"
        label = "NDT" if size == 1 else f"NDT member {member + 1} of {size}"
        # Seeding happens inside a forked RNG so that fitting leaves the caller's global torch RNG untouched.
        budget = training_progress(self.config.max_epochs, label, self.torch_device.type)
        with torch.random.fork_rng(devices=[]), budget as progress:
            trainer = Trainer(self.config, self.model_layout, self.max_spikes, targets, seed, self.torch_device,
                              workdir, self._fingerprint(targets, seed))
            self.net = trainer.model
            summary = trainer.run(callback=self.epoch_callback, progress=progress)
        return trainer.model, summary

    def predict(self, inputs: TaskInputs) -> Submission:
        if self.net is None or self.layout is None:
            raise ValidationError("model 'ndt': predict() called before fit()")
        _check_inputs(inputs)
        train = split_rates(self.rates(inputs.train_spikes_heldin), self.layout)
        ev = split_rates(self.rates(inputs.eval_spikes_heldin), self.layout)
        return Submission(
            group=inputs.group,
            train_rates_heldin=train["heldin"], train_rates_heldout=train["heldout"],
            eval_rates_heldin=ev["heldin"], eval_rates_heldout=ev["heldout"],
            eval_rates_heldin_forward=ev["heldin_forward"], eval_rates_heldout_forward=ev["heldout_forward"])

    def rates(self, heldin: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """Predicted rates (expected counts per bin) over trial + forward bins and all neurons.

        Only ``heldin`` (trials x bins x held-in neurons, task bins) reaches the network; held-out channels and
        forward bins are zeros. With ``bin_factor`` > 1 the network sees summed counts and its rates are spread
        over the task's bins. With ``inference_mask_passes`` K >= 2, each held-in rate comes from the pass that
        zero-masked its bin (see :class:`NDTConfig`). An ensemble's rates are the mean of its members' rates.
        """
        import torch

        from nbench.baselines.ndt.model import unmasked_rates

        lay = self.model_layout
        counts = torch.from_numpy(heldin_counts(sum_bins(heldin, self.config.bin_factor), self.max_spikes))
        passes = self.config.inference_mask_passes
        total = None
        for net in self.nets or [self.net]:
            net.eval()
            with torch.inference_mode():
                rates = unmasked_rates(net, counts, lay, self.torch_device, batch_size)
                for k in range(passes):
                    masked = counts.clone()
                    masked[:, k::passes] = 0
                    pass_rates = unmasked_rates(net, masked, lay, self.torch_device, batch_size)
                    rates[:, k:lay.n_bins:passes, : lay.n_heldin] = pass_rates[:, k:lay.n_bins:passes, : lay.n_heldin]
            total = rates if total is None else total + rates
        return spread_rates((total / len(self.nets or [self.net])).numpy(), self.config.bin_factor)

    def _fingerprint(self, targets: np.ndarray, seed: int) -> str:
        blob = json.dumps({"config": config_to_dict(self.config), "seed": seed,
                           "layout": self.model_layout.__dict__, "max_spikes": self.max_spikes}, sort_keys=True)
        digest = hashlib.sha256(blob.encode())
        digest.update(np.ascontiguousarray(targets).tobytes())
        return digest.hexdigest()


def _check_inputs(inputs: TaskInputs) -> None:
    if inputs.n_train < 2:
        raise ValidationError(f"model 'ndt': needs at least 2 training trials, got {inputs.n_train}")
