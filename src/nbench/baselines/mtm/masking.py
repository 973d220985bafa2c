"""MtM's masking schemes (reference/mtm.md 1.2): which input entries are zeroed and which are loss targets.

All schemes zero the masked inputs (no mask token) and take the Poisson NLL on the masked entries only:

========== ======================================================================= ============================
scheme     masked (input zeroed)                                                   loss on
========== ======================================================================= ============================
neuron     ``mask_ratio`` of the neurons of each trial, every bin                   those neurons
causal     ``causal_ratio`` of the bins of each trial, every neuron (causal attention)  those bins
inter      every neuron of one region drawn for the batch                          that region
intra      every neuron outside one region drawn for the batch, plus ``mask_ratio`` the masked neurons inside
           of the neurons inside it (per trial)                                    the region
temporal   ``mask_ratio`` of the bins of each trial, every neuron (NDT's objective) those bins
========== ======================================================================= ============================
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from nbench.baselines.mtm.config import SCHEMES, MTMConfig

if TYPE_CHECKING:  # torch is imported when masks are drawn, so that importing nbench.baselines.mtm does not
    import torch


def draw_scheme(config: MTMConfig, rng: np.random.Generator) -> str:
    """The scheme of one batch: uniform over MtM's four, or always ``"temporal"``."""
    return str(rng.choice(SCHEMES)) if config.masking == "mtm" else "temporal"


def scheme_masks(scheme: str, shape: tuple[int, int, int], regions: np.ndarray, config: MTMConfig,
                 rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """``(zeroed, loss)`` boolean masks (trials x bins x neurons) of one batch.

    ``regions`` is the region label of each neuron (the inter and intra schemes need one; a session without
    labels is one region).
    """
    trials, bins, neurons = shape
    if scheme == "neuron":
        picked = rng.random((trials, 1, neurons)) < config.mask_ratio
        zeroed = np.broadcast_to(picked, shape)
        return _tensor(zeroed), _tensor(zeroed)
    if scheme in ("causal", "temporal"):
        ratio = config.causal_ratio if scheme == "causal" else config.mask_ratio
        picked = rng.random((trials, bins, 1)) < ratio
        zeroed = np.broadcast_to(picked, shape)
        return _tensor(zeroed), _tensor(zeroed)
    labels = np.unique(regions)
    inside = np.broadcast_to(regions == rng.choice(labels), shape)
    if scheme == "inter":
        return _tensor(inside), _tensor(inside)
    if scheme == "intra":
        picked = np.broadcast_to(rng.random((trials, 1, neurons)) < config.mask_ratio, shape) & inside
        return _tensor(~inside | picked), _tensor(picked)
    raise ValueError(f"unknown masking scheme {scheme!r}")


def _tensor(mask: np.ndarray) -> torch.Tensor:
    import torch

    return torch.from_numpy(np.ascontiguousarray(mask))


def query_scheme(n_visible: int, n_hidden: int, forward_bins: int, visible_regions: np.ndarray,
                 hidden_regions: np.ndarray, behavior: str | None = None) -> str:
    """The prompt MtM uses for a query, read from what the query hides (reference/mtm.md 1.2):

    forward bins asked and nothing hidden -> ``causal``; a whole region hidden and only other regions visible
    -> ``inter``; hidden neurons whose own region is all that is visible -> ``intra``; otherwise ``neuron``
    (leave-one-out, and the choice); the whisker trace uses ``causal`` as the authors' tables do.
    """
    if n_hidden == 0:
        return "causal" if forward_bins or behavior == "whisker" else "neuron"
    hidden_set, visible_set = set(hidden_regions.tolist()), set(visible_regions.tolist())
    if len(hidden_set) == 1 and not hidden_set & visible_set:
        return "inter"
    if visible_set and visible_set <= hidden_set:
        return "intra"
    return "neuron"
