"""Swap-VAE samples: per-bin population rates over a window, and the pairs of views it trains on.

The paper's samples are the population's firing rates in 100 ms bins. nbench tasks are binned at 5-20 ms and
scored per bin, so every bin of a trial gets one sample: the rate (Hz) of each neuron over a window of
``input_window_ms`` centred on the bin (the mean count over the window's observed bins, divided by the bin width).
Windows are cut at the trial's edges.

Views (:class:`PairSampler`): a pair is two samples of one trial at most ``max_offset_ms`` apart, drawn uniformly
over all such pairs (offset 0 included), as ``onlywithin_indices(k_min=-5, k_max=5)`` does for 100 ms bins; with
``augmentation="paper"`` each view then drops every neuron with a probability drawn per sample from U(0,
``dropout_max``), the paper's randomized dropout (no rescaling, as upstream).
"""

from __future__ import annotations

import numpy as np
import torch


def window_bins(window_ms: float, bin_ms: float) -> int:
    """Bins in a window of ``window_ms`` (at least one)."""
    return max(1, int(round(window_ms / bin_ms)))


def windowed_rates(counts: np.ndarray, width: int, bin_ms: float) -> tuple[np.ndarray, np.ndarray]:
    """Rates (Hz) over a centred window of ``width`` bins, and whether each window saw an observed bin.

    Parameters
    ----------
    counts
        trials x bins x neurons; NaN marks unobserved bins.

    Returns
    -------
    rates
        trials x bins x neurons, float32: mean count per observed bin of bins ``[t - width // 2, t - width // 2
        + width)`` (cut at the trial's edges), per second.
    observed
        trials x bins booleans: the window holds at least one observed bin.
    """
    counts = np.asarray(counts, dtype=np.float64)
    seen = ~np.isnan(counts).all(axis=2)
    filled = np.where(seen[..., None], np.nan_to_num(counts), 0.0)
    n_bins = counts.shape[1]
    cum = np.concatenate([np.zeros_like(filled[:, :1]), np.cumsum(filled, axis=1)], axis=1)
    cum_seen = np.concatenate([np.zeros_like(seen[:, :1], dtype=np.int64), np.cumsum(seen, axis=1)], axis=1)
    start = np.clip(np.arange(n_bins) - width // 2, 0, n_bins)
    stop = np.clip(np.arange(n_bins) - width // 2 + width, 0, n_bins)
    total = cum[:, stop] - cum[:, start]
    n_seen = cum_seen[:, stop] - cum_seen[:, start]
    rates = total / np.maximum(n_seen, 1)[..., None] / (bin_ms / 1000.0)
    return rates.astype(np.float32), n_seen > 0


class PairSampler:
    """Draws batches of view pairs from the training samples (all draws from one torch generator).

    Parameters
    ----------
    rates
        trials x bins x neurons training samples (Hz), on the training device.
    observed
        trials x bins booleans: samples that may be drawn.
    max_offset
        Largest distance in bins between the two samples of a pair.
    dropout_max
        0 for the released views; else the bound of the per-sample dropout probability of each view.
    """

    def __init__(self, rates: torch.Tensor, observed: np.ndarray, max_offset: int, dropout_max: float) -> None:
        self.flat = rates.reshape(-1, rates.shape[-1])
        self.n_bins = int(observed.shape[1])
        self.observed = torch.from_numpy(observed.ravel())
        self.anchors = torch.from_numpy(np.flatnonzero(observed.ravel()))
        self.max_offset, self.dropout_max = max_offset, dropout_max

    def pairs(self, n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """``n`` flat index pairs, uniform over the pairs of observed samples of one trial within the offset.

        Rejection sampling: an anchor and an offset are drawn uniformly; pairs that leave the trial or hit an
        unobserved bin are drawn again, which leaves every valid pair equally likely.
        """
        first, second = torch.empty(0, dtype=torch.long), torch.empty(0, dtype=torch.long)
        while len(first) < n:
            need = 2 * (n - len(first)) + 8
            a = self.anchors[torch.randint(len(self.anchors), (need,), generator=generator)]
            d = torch.randint(-self.max_offset, self.max_offset + 1, (need,), generator=generator)
            t = a % self.n_bins + d
            b = a + d
            ok = (t >= 0) & (t < self.n_bins)
            ok[ok.clone()] = self.observed[b[ok]]
            first, second = torch.cat([first, a[ok]]), torch.cat([second, b[ok]])
        return first[:n], second[:n]

    def batch(self, n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """Two views of ``n`` samples (n x neurons each)."""
        i, j = self.pairs(n, generator)
        device = self.flat.device
        x1, x2 = self.flat[i.to(device)], self.flat[j.to(device)]
        if self.dropout_max > 0:
            x1, x2 = self._dropout(x1, generator), self._dropout(x2, generator)
        return x1, x2

    def _dropout(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        p = torch.rand(x.shape[0], 1, generator=generator) * self.dropout_max
        keep = torch.rand(x.shape, generator=generator) >= p
        return x * keep.to(x.device, x.dtype)
