"""Spike smoothing: NLB'21's simplest baseline (``nlb_tools/examples/baselines/smoothing/run_smoothing.py``).

Recipe:

1. Smooth each held-in neuron of each trial with a Gaussian kernel of ``M = int(6 kern_sd / bin)`` points and
   standard deviation ``int(kern_sd / bin)`` bins (``scipy.signal.windows.gaussian``, normalised to sum 1), as
   ``np.convolve(x, w, "same")`` within the trial. The ``int`` truncation and, for even ``M``, the half-bin shift
   of the "same" convolution are NLB's and are kept.
2. Held-in rates are the smoothed held-in spikes (counts per bin).
3. Held-out rates come from an L2 Poisson GLM from ``log(smoothed held-in + 1e-4)`` to the held-out counts,
   fit on training trials and clipped to [1e-9, 1e20]. ``readout="batched"`` fits all held-out neurons at once
   (:class:`~nbench.baselines.glm.PoissonGLM`, same optimum); ``readout="sklearn"`` runs NLB's per-neuron
   ``PoissonRegressor`` loop.
4. Forward-window rates (not part of NLB's script): each neuron's mean training count per bin, pooled
   over the forward window (:func:`~nbench.baselines.readout.forward_rates`).

Per-dataset defaults ``(kern_sd_ms, alpha)`` are NLB's published ones (chosen by their 5-fold CV sweep); the
``_20`` tasks use the same values, as NLB's script does at 20 ms. ``lorenz`` and ``chaotic_rnn`` use settings
chosen by ``nbench tune`` (see docs/baselines.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal.windows import gaussian

from nbench.baselines.base import Model
from nbench.baselines.readout import READOUTS, check_choice, flat, forward_rates, poisson_readout
from nbench.errors import ConfigError
from nbench.submission import Submission
from nbench.tasks.base import TaskInputs

#: (kern_sd_ms, alpha) per dataset family. NLB'21 run_smoothing.py for the NLB datasets (the same values at 5 and
#: 20 ms, as NLB's script); nbench tune for lorenz and chaotic_rnn; for multi_region the best inter-region co-bps of
#: kern_sd_ms {40, 80} x alpha {0.3, 1, 3} (docs/region.md).
SMOOTHING_DEFAULTS: dict[str, tuple[float, float]] = {
    "mc_maze": (50.0, 0.01),
    "mc_rtt": (30.0, 0.1),
    "area2_bump": (30.0, 0.01),
    "dmfc_rsg": (60.0, 0.001),
    "mc_maze_large": (40.0, 0.1),
    "mc_maze_medium": (60.0, 0.1),
    "mc_maze_small": (60.0, 0.1),
    "lorenz": (30.0, 0.01),
    "chaotic_rnn": (30.0, 0.1),
    "multi_region": (40.0, 3.0),
}
FALLBACK = (50.0, 0.01)
MAX_KERN_SD_MS = 10_000.0  # the window has 6 sd / bin points; far wider than any trial already
LOG_OFFSET = 1e-4
RATE_CLIP = (1e-9, 1e20)


@dataclass(frozen=True)
class SmoothingConfig:
    """Settings of the smoothing baseline.

    Attributes
    ----------
    kern_sd_ms
        Standard deviation of the Gaussian kernel in ms (truncated to whole bins, as NLB does).
    alpha
        L2 penalty of the Poisson readout (sklearn's ``PoissonRegressor(alpha=...)`` scale).
    readout
        ``"batched"`` (one fit for all held-out neurons) or ``"sklearn"`` (NLB's per-neuron loop).
    """

    kern_sd_ms: float = FALLBACK[0]
    alpha: float = FALLBACK[1]
    readout: str = "batched"

    def validate(self) -> None:
        """One-line ConfigError for values no fit can use (checked before any data is loaded)."""
        check_choice(self.readout, READOUTS, "readout", "smoothing")
        if not 0 < self.kern_sd_ms <= MAX_KERN_SD_MS:
            raise ConfigError(f"model 'smoothing': config key 'kern_sd_ms' expects a value in (0, {MAX_KERN_SD_MS:g}]"
                              f" ms, got {self.kern_sd_ms!r}")
        if self.alpha < 0:
            raise ConfigError(f"model 'smoothing': config key 'alpha' expects a value >= 0, got {self.alpha!r}")


def gaussian_kernel(kern_sd_ms: float, bin_ms: float) -> np.ndarray:
    """NLB's smoothing window: ``M = int(6 sd / bin)`` points, std ``int(sd / bin)`` bins, summing to 1."""
    n_points, std = int(6 * kern_sd_ms / bin_ms), int(kern_sd_ms / bin_ms)
    if std < 1:
        raise ConfigError(f"model 'smoothing': config key 'kern_sd_ms' expects at least one bin ({bin_ms:g} ms), "
                          f"got {kern_sd_ms!r}")
    window = gaussian(n_points, std, sym=True)
    return window / window.sum()


def smooth_spikes(spikes: np.ndarray, window: np.ndarray) -> np.ndarray:
    """``np.convolve(x, window, "same")`` along bins for every trial and neuron, as one banded matrix product.

    Output bin ``i`` is ``sum_j x[j] * window[i + (M - 1) // 2 - j]`` with zeros outside the trial, which is what
    numpy's "same" mode returns when the trial is at least as long as the window. NaN counts count as zero.
    """
    x = np.nan_to_num(np.asarray(spikes, dtype=np.float64))
    n_bins, m = x.shape[1], window.size
    offset = np.arange(n_bins)[:, None] + (m - 1) // 2 - np.arange(n_bins)[None, :]
    inside = (offset >= 0) & (offset < m)
    band = np.where(inside, window[np.clip(offset, 0, m - 1)], 0.0)
    return np.matmul(band, x)


class SmoothingModel(Model):
    """Gaussian smoothing of held-in spikes with a Poisson GLM readout to held-out neurons (NLB'21)."""

    name = "smoothing"
    Config = SmoothingConfig

    @classmethod
    def preset(cls, family: str, bin_ms: float | None = None) -> SmoothingConfig | None:
        if family not in SMOOTHING_DEFAULTS:
            return None
        kern_sd, alpha = SMOOTHING_DEFAULTS[family]
        return SmoothingConfig(kern_sd_ms=kern_sd, alpha=alpha)

    def fit(self, inputs: TaskInputs) -> None:
        cfg = self.config
        cfg.validate()
        window = gaussian_kernel(cfg.kern_sd_ms, inputs.bin_ms)
        self._smoothed = {"train": smooth_spikes(inputs.train_spikes_heldin, window),
                          "eval": smooth_spikes(inputs.eval_spikes_heldin, window)}
        features = {k: np.log(flat(v) + LOG_OFFSET) for k, v in self._smoothed.items()}
        train_out, eval_out = poisson_readout(features["train"], flat(inputs.train_spikes_heldout),
                                              [features["train"], features["eval"]], cfg.alpha, cfg.readout,
                                              progress="smoothing: Poisson readout")
        self._heldout = {
            "train": np.clip(train_out, *RATE_CLIP).reshape(inputs.n_train, inputs.n_bins, inputs.n_heldout),
            "eval": np.clip(eval_out, *RATE_CLIP).reshape(inputs.n_eval, inputs.n_bins, inputs.n_heldout)}
        self._forward = forward_rates(inputs)

    def predict(self, inputs: TaskInputs) -> Submission:
        return Submission(
            group=inputs.group,
            train_rates_heldin=self._smoothed["train"], train_rates_heldout=self._heldout["train"],
            eval_rates_heldin=self._smoothed["eval"], eval_rates_heldout=self._heldout["eval"],
            eval_rates_heldin_forward=self._forward[0], eval_rates_heldout_forward=self._forward[1],
        )
