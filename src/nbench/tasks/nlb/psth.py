"""True PSTHs and condition indices, as ``nlb_tools.make_tensors._make_psth`` builds them.

Conditions are the sorted distinct combinations of the condition fields over the non-ignored trials. Each
condition averages its non-ignored, non-skipped trials by ``align_time``; trials shorter than 0.8 x the
condition's mean window are dropped and the PSTH is cut to the shortest remaining window (from the end for
front padding). PSTHs are stacked to a common length, NaN-padded.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from nbench.data.nlb.params import PSTHSpec
from nbench.data.nlb.timeconv import NAT
from nbench.data.recording import Recording
from nbench.errors import DataError
from nbench.tasks.nlb.smoothing import TrialSet, condition_sums, gaussian_window
from nbench.tasks.nlb.windows import trial_rows

logger = logging.getLogger(__name__)


@dataclass
class PSTHResult:
    """PSTHs (conditions x bins x held-in + held-out units) and trial indices per condition."""

    psth: np.ndarray
    eval_cond_idx: list[np.ndarray]
    train_cond_idx: list[np.ndarray]
    conditions: list[tuple[float, ...]]


def condition_table(trials: dict[str, np.ndarray], fields: tuple[str, ...], usable: np.ndarray
                    ) -> tuple[np.ndarray, list[tuple[float, ...]]]:
    """Condition index of every trial (-1: none) and the sorted condition tuples over ``usable`` trials."""
    values = np.stack([np.asarray(trials[f], dtype=np.float64) for f in fields], axis=1)
    complete = usable & ~np.isnan(values).any(axis=1)
    combos = np.unique(values[complete], axis=0)  # lexicographic, as sorted() of tuples
    index = np.full(len(values), -1)
    for i, combo in enumerate(combos):
        index[np.all(values == combo, axis=1)] = i
    return index, [tuple(float(v) for v in c) for c in combos]


def make_psth(rec: Recording, spec: PSTHSpec, train_mask: np.ndarray, eval_mask: np.ndarray,
              ignore_mask: np.ndarray, bin_ms: int, what: str) -> PSTHResult:
    """PSTHs and condition indices of ``rec`` at ``bin_ms``."""
    trials = rec.trials.columns
    skip = np.asarray(trials["is_outlier"], dtype=np.float64) == 1 if spec.skip_outliers else \
        np.zeros(rec.n_trials, bool)
    cond_of, combos = condition_table(trials, spec.cond_fields, ~ignore_mask)
    n_bins = -(-rec.n_ms // bin_ms)
    align_field = spec.window.align or "start_time"
    train_ids = trials["trial_id"][train_mask & (trials[align_field] != NAT)]
    eval_ids = trials["trial_id"][eval_mask & (trials[align_field] != NAT)]
    parts, kept_combos = [], []
    for c in range(len(combos)):
        include = (cond_of == c) & ~ignore_mask & ~skip
        if not include.any():
            logger.warning("No matching trials found for %s. Dropping", combos[c])
            continue
        rows = trial_rows(trials, include, spec.window, bin_ms, n_bins).nonempty()
        if len(rows.trial) == 0:
            raise DataError(f"{what}: condition {combos[c]} has no trial with data in the PSTH window")
        long_enough = rows.count >= 0.8 * rows.count.mean()
        parts.append((rows.trial[long_enough], rows.first[long_enough], rows.count[long_enough],
                      rows.align_bin[long_enough]))
        kept_combos.append(combos[c])
    trial_set = TrialSet(np.concatenate([np.full(len(p[0]), i) for i, p in enumerate(parts)]),
                         *(np.concatenate([p[k] for p in parts]) for k in (1, 2, 3)))
    window = gaussian_window(spec.kern_sd_ms)
    per_group = [condition_sums(block, trial_set, len(parts), window, bin_ms)
                 for block in (rec.block("heldin"), rec.block("heldout")) if block is not None]
    psths = [_cut(per_group, c, int(parts[c][2].min()), spec.pad) for c in range(len(parts))]
    max_len = max(len(p) for p in psths) if spec.seg_len_ms is None else int(round(spec.seg_len_ms / bin_ms))
    stacked = np.stack([_pad(p, max_len, spec.pad) for p in psths])
    ids = trials["trial_id"]
    train_idx = [np.sort(np.flatnonzero(np.isin(train_ids, ids[p[0]]))) for p in parts]
    eval_idx = [np.sort(np.flatnonzero(np.isin(eval_ids, ids[p[0]]))) for p in parts]
    return PSTHResult(stacked, eval_idx, train_idx, kept_combos)


def _cut(per_group: list, cond: int, min_len: int, pad: str) -> np.ndarray:
    """Mean per present ``align_time`` row (NaN where no trial has a value), cut to ``min_len`` rows."""
    columns = []
    for sums in per_group:
        present = sums.present[cond]
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = sums.total[cond][present] / sums.n_valid[cond][present][:, None]
        columns.append(mean)
    psth = np.concatenate(columns, axis=1)
    return psth[:min_len] if pad == "back" else psth[-min_len:]


def _pad(psth: np.ndarray, max_len: int, pad: str) -> np.ndarray:
    """nlb_tools' stacking rule (including its ``psth[max_len:]`` for long front-padded PSTHs)."""
    n = len(psth)
    if n == max_len:
        return psth
    if n > max_len:
        return psth[:max_len] if pad == "back" else psth[max_len:]
    fill = np.full((max_len - n, psth.shape[1]), np.nan)
    return np.concatenate([psth, fill] if pad == "back" else [fill, psth])
