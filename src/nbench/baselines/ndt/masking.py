"""BERT-style masking of whole time steps, with spans, as in the NDT authors' ``mask.py`` (mode "timestep").

All random draws come from an explicit CPU ``torch.Generator`` so that masks are reproducible and resumable.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from nbench.baselines.ndt.config import NDTConfig


def span_probability(epoch: int, config: NDTConfig) -> float:
    """Probability that a batch uses span masking: 0 before the ramp, rising linearly to 1 at its end."""
    ramp = (epoch - config.mask_span_ramp_start) / (config.mask_span_ramp_end - config.mask_span_ramp_start)
    return float(min(max(ramp, 0.0), 1.0))


def draw_span_width(config: NDTConfig, span_prob: float, generator: torch.Generator) -> int:
    """Span width for one batch: 1, or with probability ``span_prob`` uniform in 1..``mask_max_span``."""
    if config.mask_max_span <= 1 or span_prob <= 0.0:
        return 1
    if torch.rand(1, generator=generator).item() >= span_prob:
        return 1
    return int(torch.randint(1, config.mask_max_span + 1, (1,), generator=generator).item())


def expand_spans(seeds: torch.Tensor, width: int) -> torch.Tensor:
    """Dilate boolean seeds (trials x bins) to spans of ``width`` bins.

    A seed at bin s masks bins [s + w//2 - w + 1, s + w//2] within the trial: centred for odd widths, one bin
    to the right for even widths (as the authors' padded conv1d with its last column cropped).
    """
    if width <= 1:
        return seeds
    left = width // 2
    padded = F.pad(seeds.float().unsqueeze(1), (left, width - 1 - left)).squeeze(1)
    return padded.unfold(-1, width, 1).amax(-1) > 0


def timestep_mask(n_trials: int, n_bins: int, ratio: float, width: int,
                  generator: torch.Generator) -> torch.Tensor:
    """Boolean (trials x bins): each bin starts a masked span with probability ``ratio / width``."""
    seeds = torch.rand(n_trials, n_bins, generator=generator) < (ratio / width)
    return expand_spans(seeds, width)


def mask_batch(counts: torch.Tensor, config: NDTConfig, span_prob: float, generator: torch.Generator,
               max_spikes: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Mask whole time steps of a batch of held-in counts.

    Parameters
    ----------
    counts
        Held-in counts, trials x bins x neurons (integer-valued, on CPU).
    config
        Masking ratios and span settings.
    span_prob
        Probability that this batch uses spans (see :func:`span_probability`).
    generator
        Source of all random draws.
    max_spikes
        Largest embedded count; the mask token is ``max_spikes + 1`` when zero-masking is off.

    Returns
    -------
    masked, bin_mask
        The input with masked entries replaced (a copy), and the boolean trials x bins mask of loss targets.
        Of the masked entries, a fraction ``mask_token_ratio`` becomes the mask value, a fraction
        ``mask_random_ratio`` of the rest becomes a random count in [0, batch max), the rest stays unchanged.
    """
    n_trials, n_bins, n_neurons = counts.shape
    width = draw_span_width(config, span_prob, generator)
    bin_mask = timestep_mask(n_trials, n_bins, config.mask_ratio, width, generator)
    entry_mask = bin_mask.unsqueeze(-1).expand(n_trials, n_bins, n_neurons)
    masked = counts.clone()
    replaced = (torch.rand(counts.shape, generator=generator) < config.mask_token_ratio) & entry_mask
    masked[replaced] = 0 if config.use_zero_mask else max_spikes + 1
    randomised = (torch.rand(counts.shape, generator=generator) < config.mask_random_ratio) & entry_mask & ~replaced
    high = max(int(counts.max().item()), 1) if counts.numel() else 1
    random_counts = torch.randint(0, high, counts.shape, generator=generator).to(counts.dtype)
    masked[randomised] = random_counts[randomised]
    return masked, bin_mask
