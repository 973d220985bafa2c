"""Behaviour metrics of one view: decoded from the predicted rates by the task's decoder, or predicted directly.

Decoded (labelled as such; NLB's own names for NLB's decoders):

- ``nlb_ridge``: NLB's ``vel R2`` (:func:`nbench.metrics.decoding.velocity_decoding`), from the train and eval
  rates of all neurons, one decoder per decode mask;
- ``tp_corr``: DMFC's ``tp corr`` from the eval rates;
- ``logistic_cv``: ``<name> accuracy (decoded)``, labels decoded from each trial's flattened rates;
- ``ridge_cv``: ``<name> R2 (decoded)``, each trial's series decoded from its flattened rates.

Predicted (``eval_behavior_pred``, an nbench extension): ``<name> R2 (predicted)`` on the same lagged, observed
bins NLB decodes (bins whose first behaviour column is NaN are left out), or ``<name> accuracy (predicted)``.

From latents (``train_latents`` / ``eval_latents``, an nbench extension): the task's decoder applied to the
latents instead of the rates, ``<name> R2 (from latents)`` / ``<name> accuracy (from latents)``; and, where a
reaching task declares it, ``reach-direction accuracy (from latents)``: each trial's reach direction (the
8-way sector of its net hand displacement, from the velocity behaviour) decoded from the latents of its moving
bins by k-nearest neighbours fit on the training trials' moving bins, as Swap-VAE evaluates its latents.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import numpy as np

from nbench.metrics import REACH_DIRECTION
from nbench.metrics.classify import accuracy_per_trial, decode_labels, knn_labels, moving_bins, reach_directions
from nbench.metrics.decoding import decode_series_cv, vel_r2_stats, velocity_decoding
from nbench.metrics.rates import r2_from_stats, r2_score_uniform, r2_trial_stats
from nbench.metrics.timing import tp_correlation
from nbench.scoring.estimates import Estimate, naming
from nbench.scoring.trials import TrialLoss, r2_trial_loss
from nbench.submission import Submission, joined_neurons
from nbench.tasks.base import BehaviorSpec, Targets


def behavior_spec(targets: Targets) -> BehaviorSpec | None:
    """The scored behaviour of ``targets``: declared by the task, else the NLB task of the group's name."""
    if targets.behavior is not None:
        return targets.behavior
    from nbench.tasks.nlb.task import nlb_behavior_spec

    return nlb_behavior_spec(targets.group)


def behavior_estimates(metrics: tuple[str, ...], sub: Submission, targets: Targets,
                       has_rates: bool) -> dict[str, Estimate]:
    """Estimates of the declared behaviour metrics that ``sub`` can be scored on."""
    spec = behavior_spec(targets)
    if spec is None or targets.eval_behavior is None:
        return {}
    out: dict[str, Estimate] = {}
    if has_rates and spec.decoded_metric in metrics:
        with naming(targets.group, spec.decoded_metric):
            out[spec.decoded_metric] = _decoded(spec, partial(_rates, sub), targets)
    if spec.predicted_metric in metrics and sub.eval_behavior_pred is not None:
        with naming(targets.group, spec.predicted_metric):
            out[spec.predicted_metric] = _predicted(spec, sub.eval_behavior_pred, targets.eval_behavior)
    has_latents = sub.train_latents is not None and sub.eval_latents is not None
    if has_latents and spec.latent_metric in metrics:
        with naming(targets.group, spec.latent_metric):
            out[spec.latent_metric] = _decoded(spec, partial(_latents, sub), targets)
    if has_latents and REACH_DIRECTION in metrics:
        with naming(targets.group, REACH_DIRECTION):
            out[REACH_DIRECTION] = _reach_direction(_latents(sub, "train"), _latents(sub, "eval"), targets)
    return out


def _latents(sub: Submission, split: str, keep_float32: bool = False) -> np.ndarray:
    """The latents of ``split`` as float64, or as read when ``keep_float32`` (as :func:`_rates`)."""
    latents = np.asarray(getattr(sub, f"{split}_latents"))
    return latents if keep_float32 and latents.dtype == np.float32 else np.asarray(latents, dtype=np.float64)


def _rates(sub: Submission, split: str, keep_float32: bool = False) -> np.ndarray:
    """All neurons' rates of ``split`` (held-in, then held-out where the view hides any), as float64, or as read
    when ``keep_float32`` (for NLB's ridge, which casts chunk by chunk: the training rates are the largest array)."""
    heldin, heldout = getattr(sub, f"{split}_rates_heldin"), getattr(sub, f"{split}_rates_heldout")
    if heldin is None:
        raise ValueError(f"behaviour decoding needs {split}_rates_heldin")
    if heldout is None or heldout.shape[-1] == 0:
        rates = heldin
    elif heldin.shape[:-1] != heldout.shape[:-1]:
        raise ValueError(f"{split}_rates_heldin shape {heldin.shape} and {split}_rates_heldout shape "
                         f"{heldout.shape} differ in trials x bins")
    else:
        rates = joined_neurons(heldin, heldout)
    return rates if keep_float32 and rates.dtype == np.float32 else np.asarray(rates, dtype=np.float64)


def _decoded(spec: BehaviorSpec, features: Callable[[str, bool], np.ndarray], targets: Targets) -> Estimate:
    """The task's decoder from ``features(split, keep_float32)`` (rates or latents, trials x bins x d) to the
    behaviour; NLB's ridge takes float32 training features as they are (it casts chunk by chunk)."""
    eval_behavior = np.asarray(targets.eval_behavior, dtype=np.float64)
    eval_x = features("eval", False)
    if spec.decoder == "tp_corr":
        spikes = np.asarray(targets.eval_spikes_heldout, dtype=np.float64)
        return Estimate(tp_correlation(spikes, eval_x, eval_behavior))
    if targets.train_behavior is None:
        raise ValueError("targets have eval_behavior but no train_behavior")
    train_behavior = np.asarray(targets.train_behavior, dtype=np.float64)
    train_x = features("train", spec.decoder == "nlb_ridge")
    if spec.decoder == "nlb_ridge":
        return _nlb_ridge(train_x, train_behavior, eval_x, eval_behavior, targets)
    train_flat, eval_flat = _flat_trials(train_x), _flat_trials(eval_x)
    if spec.decoder == "logistic_cv":
        correct = accuracy_per_trial(eval_behavior, decode_labels(train_flat, train_behavior, eval_flat))
        return _mean_estimate(correct)
    pred = decode_series_cv(train_flat, train_behavior, eval_flat)
    return _series_r2(pred, eval_behavior)


def _reach_direction(train_x: np.ndarray, eval_x: np.ndarray, targets: Targets) -> Estimate:
    """Per-bin k-NN accuracy of the trial's reach direction over the eval trials' moving bins, pooled over bins
    and bootstrapped over trials."""
    if targets.train_behavior is None or targets.train_behavior.ndim != 3 or targets.eval_behavior.ndim != 3:
        raise ValueError("reach directions need per-bin train and eval velocity")
    samples = []
    for x, velocity in ((train_x, targets.train_behavior), (eval_x, targets.eval_behavior)):
        labels = reach_directions(velocity)
        use = moving_bins(velocity) & ~np.isnan(labels)[:, None]
        samples.append((x[use], np.broadcast_to(labels[:, None], use.shape)[use], use))
    (train_feats, train_labels, _), (eval_feats, eval_labels, eval_use) = samples
    correct = np.zeros(eval_use.shape)
    correct[eval_use] = knn_labels(train_feats, train_labels, eval_feats) == eval_labels
    return _ratio_estimate(correct.sum(axis=1), eval_use.sum(axis=1).astype(np.float64))


def _nlb_ridge(train_rates: np.ndarray, train_behavior: np.ndarray, eval_rates: np.ndarray,
               eval_behavior: np.ndarray, targets: Targets) -> Estimate:
    r2, fits = velocity_decoding(train_rates, train_behavior, targets.train_decode_mask, eval_rates,
                                 eval_behavior, targets.eval_decode_mask)
    per_mask = vel_r2_stats(fits, len(eval_rates))

    def resampled(weights: np.ndarray) -> np.ndarray:
        return np.mean([r2_from_stats(stats, weights) for stats in per_mask], axis=0)

    return Estimate(r2, resampled, trials=TrialLoss(np.mean([r2_trial_loss(s) for s in per_mask], axis=0)))


def _predicted(spec: BehaviorSpec, pred: np.ndarray, true: np.ndarray) -> Estimate:
    pred, true = np.asarray(pred, dtype=np.float64), np.asarray(true, dtype=np.float64)
    if spec.kind == "categorical":
        return _mean_estimate(accuracy_per_trial(true, pred))
    if pred.shape != true.shape:
        raise ValueError(f"eval_behavior_pred shape {pred.shape} != eval behaviour shape {true.shape}")
    return _series_r2(pred, true)


def _series_r2(pred: np.ndarray, true: np.ndarray) -> Estimate:
    """R2 (uniform over columns) on the bins whose first true column is observed, bootstrapped over trials."""
    flat_true = true.reshape(-1, true.shape[-1])
    flat_pred = pred.reshape(-1, pred.shape[-1])
    keep = ~np.isnan(flat_true[:, 0])
    trial = np.repeat(np.arange(true.shape[0]), int(np.prod(true.shape[1:-1], dtype=np.int64)))[keep]
    value = r2_score_uniform(flat_true[keep], flat_pred[keep])
    stats = r2_trial_stats(flat_true[keep], flat_pred[keep], trial, true.shape[0])
    return Estimate(value, lambda weights: r2_from_stats(stats, weights), trials=TrialLoss(r2_trial_loss(stats)))


def _mean_estimate(per_trial: np.ndarray) -> Estimate:
    """Mean over trials with a value (NaN: no label), bootstrapped over trials."""
    scored = ~np.isnan(per_trial)
    return _ratio_estimate(np.where(scored, per_trial, 0.0), scored.astype(np.float64))


def _ratio_estimate(numerator: np.ndarray, denominator: np.ndarray) -> Estimate:
    """sum(numerator) / sum(denominator) over trials, bootstrapped over trials."""

    def resampled(weights: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return (weights @ numerator) / (weights @ denominator)

    # per-trial loss for paired comparisons: the trial's wrong samples over its scored samples
    return Estimate(float(numerator.sum() / max(denominator.sum(), 1)), resampled,
                    trials=TrialLoss(denominator - numerator, denominator))


def _flat_trials(rates: np.ndarray) -> np.ndarray:
    """trials x bins x neurons -> trials x (bins * neurons), NaN (unscored bins) as 0."""
    return np.nan_to_num(rates.reshape(len(rates), -1))
