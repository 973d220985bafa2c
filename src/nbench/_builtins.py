"""The built-in registry entries as plain data, so that the registry imports no package that registers itself.

Targets are ``"module:attribute"`` strings, imported only when an entry is used; ``kwargs`` are bound to the
target (one class serving several task names); summaries are shown by ``nbench list`` without importing anything.
"""

from __future__ import annotations

from typing import Any

from nbench.data.nlb.catalog import NLB_BIN_SIZES, NLB_TABLE, nlb_group_name

#: (name, target, summary)
MODELS: tuple[tuple[str, str, str], ...] = (
    ("mean_rate", "nbench.baselines.mean_rate:MeanRateModel",
     "each neuron's mean training rate (the trivial reference)"),
    ("smoothing", "nbench.baselines.smoothing:SmoothingModel",
     "NLB spike smoothing + Poisson GLM readout to held-out neurons"),
    ("gpfa", "nbench.baselines.gpfa:GPFAModel",
     "NLB GPFA: elephant GPFA latents, ridge to held-in, Poisson GLM to held-out neurons"),
    ("ndt", "nbench.baselines.ndt:NDTModel",
     "Neural Data Transformer: masked modelling of binned spikes (Ye & Pandarinath 2021)"),
    ("swap_vae", "nbench.baselines.swap_vae:SwapVAEModel",
     "Swap-VAE: content/style latents from swapped views; Poisson readout to held-out neurons (Liu et al. 2021)"),
    ("mtm", "nbench.baselines.mtm:MTMModel",
     "MtM: multi-task masking with prompts, across sessions, any query from one fit (Zhang et al. 2024)"),
    ("mtm_temporal", "nbench.baselines.mtm:MTMTemporalModel",
     "MtM's backbone trained with temporal masking only (the NDT objective): MtM's comparison"),
    ("poyo", "nbench.baselines.poyo:POYOModel",
     "POYO: spike tokens in, behaviour out, across sessions (Azabou et al. 2023; torch-brain, nbench[poyo])"),
)

_SYNTHETIC = "nbench.tasks.synthetic:SyntheticTask"
#: (name, target, kwargs, summary)
TASKS: tuple[tuple[str, str, dict[str, Any], str], ...] = (
    ("lorenz", _SYNTHETIC, {"dataset": "lorenz"},
     "synthetic Lorenz (NDT-like), 29 neurons, 20 ms: co-smoothing, forward, rate R2"),
    ("chaotic_rnn", _SYNTHETIC, {"dataset": "chaotic_rnn"},
     "synthetic LFADS chaotic RNN, 50 neurons, 10 ms: co-smoothing, forward, rate R2"),
    ("lorenz_rates", _SYNTHETIC, {"dataset": "lorenz", "protocol": "rates"},
     "synthetic Lorenz, every neuron observed: rate recovery (rate R2), as the NDT paper"),
    ("chaotic_rnn_rates", _SYNTHETIC, {"dataset": "chaotic_rnn", "protocol": "rates"},
     "synthetic chaotic RNN, every neuron observed: rate recovery (rate R2), as the NDT paper"),
) + tuple(
    (f"{source}_{family}", "nbench.tasks.region:RegionTask", {"source": source, "family": family},
     f"{title}: {what}")
    for source, title in (("multi_region", "synthetic multi-region (3 sessions)"),
                          ("ibl", "IBL Brain Wide Map, DANDI 000409 (`nbench data fetch ibl`)"))
    for family, what in (("cosmooth", "each neuron from all others"), ("forward", "the last 10 bins"),
                         ("inter", "each region from the others"), ("intra", "each neuron from its region"),
                         ("choice", "choice accuracy"), ("whisker", "whisker motion energy R2"))
) + tuple(
    (nlb_group_name(row.name, size), "nbench.tasks.nlb:NLBTask", {"dataset": row.name, "bin_ms": size},
     f"NLB'21 {row.title}, {row.n_neurons} neurons, {size} ms (DANDI; `nbench data fetch {row.name}`)")
    for row in NLB_TABLE for size in NLB_BIN_SIZES
)

#: Functions that find entries at run time (datasets imported into the data directory are tasks too).
DISCOVERERS: tuple[tuple[str, str], ...] = (("tasks", "nbench.tasks.imported:discover"),)
