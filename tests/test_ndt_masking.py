"""NDT masking: ratios, spans, zero / random / unchanged replacement."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from nbench.baselines.ndt.config import NDTConfig
from nbench.baselines.ndt.masking import expand_spans, mask_batch, span_probability


def _counts(n_trials: int = 400, n_bins: int = 50, n_neurons: int = 20, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(1, 6, (n_trials, n_bins, n_neurons), generator=gen)  # no zeros: replacements visible


def test_mask_ratio_and_whole_timesteps() -> None:
    cfg = NDTConfig(mask_ratio=0.3, mask_token_ratio=1.0)
    counts = _counts()
    masked, bin_mask = mask_batch(counts, cfg, 0.0, torch.Generator().manual_seed(1), max_spikes=8)
    assert bin_mask.shape == counts.shape[:2]
    assert abs(bin_mask.float().mean().item() - 0.3) < 0.01
    # A masked bin is masked for every neuron (zeroed, since mask_token_ratio = 1); others are untouched.
    assert (masked[bin_mask] == 0).all()
    assert torch.equal(masked[~bin_mask], counts[~bin_mask])


def test_zero_random_unchanged_fractions() -> None:
    cfg = NDTConfig(mask_ratio=0.5, mask_token_ratio=0.6, mask_random_ratio=0.5)
    counts = _counts()
    masked, bin_mask = mask_batch(counts, cfg, 0.0, torch.Generator().manual_seed(2), max_spikes=8)
    entries = bin_mask.unsqueeze(-1).expand_as(counts)
    m, c = masked[entries], counts[entries]
    zeroed = (m == 0).float().mean().item()
    unchanged = (m == c).float().mean().item()
    # zero: 0.6; random: 0.4 * 0.5 = 0.2, uniform on 0..4 (batch max 5), so 1/5 of them are 0 and, as the
    # originals are uniform on 1..5, 4/25 of them equal the original; unchanged: 0.2.
    assert abs(zeroed - (0.6 + 0.2 / 5)) < 0.01
    assert abs(unchanged - (0.2 + 0.2 * 4 / 25)) < 0.01
    randomised = (m != c) & (m != 0)
    assert randomised.any() and m[randomised].max().item() < counts.max().item()  # drawn from [0, batch max)


def test_mask_token_when_zero_mask_off() -> None:
    cfg = NDTConfig(mask_ratio=0.25, mask_token_ratio=1.0, use_zero_mask=False)
    counts = _counts(50)
    masked, bin_mask = mask_batch(counts, cfg, 0.0, torch.Generator().manual_seed(3), max_spikes=8)
    assert (masked[bin_mask] == 9).all()
    assert not (masked[~bin_mask] == 9).any()


def test_input_not_modified_and_deterministic() -> None:
    cfg = NDTConfig(mask_ratio=0.4, mask_token_ratio=0.5)
    counts = _counts(20)
    before = counts.clone()
    a = mask_batch(counts, cfg, 0.0, torch.Generator().manual_seed(4), 8)
    b = mask_batch(counts, cfg, 0.0, torch.Generator().manual_seed(4), 8)
    assert torch.equal(counts, before)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])


@pytest.mark.parametrize("width", [1, 2, 3, 4, 5])
def test_expand_spans_matches_reference(width: int) -> None:
    gen = torch.Generator().manual_seed(width)
    seeds = torch.rand(30, 40, generator=gen) < 0.08
    expected = np.zeros((30, 40), dtype=bool)
    for trial, start in zip(*np.nonzero(seeds.numpy()), strict=True):
        lo, hi = start + width // 2 - width + 1, start + width // 2
        expected[trial, max(lo, 0): min(hi, 39) + 1] = True
    assert np.array_equal(expand_spans(seeds, width).numpy(), expected)


def test_span_masking_keeps_ratio_and_makes_runs() -> None:
    cfg = NDTConfig(mask_ratio=0.2, mask_max_span=4, mask_span_ramp_start=0, mask_span_ramp_end=1)
    counts = _counts(1000, 60, 1)
    fractions, longest = [], 0
    gen = torch.Generator().manual_seed(5)
    for _ in range(10):
        _, bin_mask = mask_batch(counts, cfg, 1.0, gen, 8)
        fractions.append(bin_mask.float().mean().item())
        padded = torch.cat([bin_mask, torch.zeros(bin_mask.shape[0], 1, dtype=torch.bool)], 1).flatten()
        runs = np.diff(np.concatenate([[0], padded.int().numpy(), [0]]))
        longest = max(longest, int(np.max(np.nonzero(runs == -1)[0] - np.nonzero(runs == 1)[0])))
    # The ratio is divided by the width, so overlap only lowers the masked share a little.
    assert 0.12 < np.mean(fractions) <= 0.2
    assert longest >= 4


def test_span_probability_ramp() -> None:
    cfg = dataclasses.replace(NDTConfig(), mask_span_ramp_start=100, mask_span_ramp_end=300)
    assert span_probability(0, cfg) == 0.0
    assert span_probability(100, cfg) == 0.0
    assert span_probability(200, cfg) == pytest.approx(0.5)
    assert span_probability(1000, cfg) == 1.0
