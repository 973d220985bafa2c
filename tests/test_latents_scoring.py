"""Latents in submissions (an nbench extension) and behaviour decoded from them: reach directions, k-NN accuracy,
the task's decoder on latents, declarations and validation."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from swap_vae_fixtures import VELOCITY, reach_data

from nbench.errors import ValidationError
from nbench.metrics import REACH_DIRECTION, metric_info
from nbench.metrics.classify import knn_labels, moving_bins, reach_directions
from nbench.scoring import score_group
from nbench.submission import Submission, write_submission
from nbench.tasks.base import Targets
from nbench.tasks.nlb.task import dataset_metrics
from nbench.validation import load_submission, spec_from_targets, validate_submission

LATENT_METRICS = ("vel R2", "vel R2 (from latents)", REACH_DIRECTION)


def test_reach_direction_is_the_sector_of_the_net_displacement() -> None:
    angles = np.radians([0.0, 22.0, 23.0, 44.0, 180.0, -90.0, -115.0, 337.6])
    velocity = np.stack([np.cos(angles), np.sin(angles)], axis=-1)[:, None, :] * np.array([1, 2, 0.5])[:, None]
    velocity[:, 1] = np.nan  # unobserved samples do not count
    np.testing.assert_array_equal(reach_directions(velocity), [0, 0, 1, 1, 4, 6, 5, 0])
    assert np.isnan(reach_directions(np.zeros((1, 3, 2)))[0])
    assert np.isnan(reach_directions(np.full((1, 3, 2), np.nan))[0])


def test_moving_bins_are_those_near_the_trial_peak_speed() -> None:
    speed = np.array([[0.0, 1.0, 5.0, 10.0, np.nan, 2.0], [0.0] * 6])
    velocity = np.stack([speed * 0.6, speed * 0.8], axis=-1)
    expected = [[False, False, True, True, False, True], [False] * 6]
    np.testing.assert_array_equal(moving_bins(velocity, fraction=0.2), expected)


def test_knn_votes_its_neighbours_on_standardised_features() -> None:
    train = np.array([[0.0, 0.0], [0.0, 1.0], [10.0, 0.0], [10.0, 1.0], [10.0, 2.0]])
    labels = np.array([0, 0, 1, 1, 1])
    np.testing.assert_array_equal(knn_labels(train, labels, np.array([[1.0, 0.5], [9.0, 1.0]]), k=2), [0, 1])


def _reach_view() -> tuple[Submission, Targets, dict[str, np.ndarray]]:
    inputs, truth = reach_data()
    targets = Targets(group="reach", eval_spikes_heldout=truth["eval_spikes_heldout"],
                      train_behavior=inputs.train_behavior, eval_behavior=truth["eval_velocity"],
                      metrics=LATENT_METRICS, behavior=VELOCITY)
    rates = np.full(inputs.eval_spikes_heldin.shape, 0.3)
    sub = Submission("reach", train_rates_heldin=np.full(inputs.train_spikes_heldin.shape, 0.3),
                     train_rates_heldout=np.full(inputs.train_spikes_heldout.shape, 0.3), eval_rates_heldin=rates,
                     eval_rates_heldout=np.full(truth["eval_spikes_heldout"].shape, 0.3))
    return sub, targets, truth


def test_behaviour_from_latents_follows_what_the_latents_carry() -> None:
    sub, targets, truth = _reach_view()
    rng = np.random.default_rng(0)
    # latents carrying the (negated, scaled) velocity plus a noise dimension; negative values are fine
    def carrying(velocity: np.ndarray) -> np.ndarray:
        return np.concatenate([-0.01 * velocity, rng.normal(size=velocity.shape[:2] + (1,))], axis=-1)

    good = score_group(replace(sub, train_latents=carrying(truth["train_velocity"]),
                               eval_latents=carrying(truth["eval_velocity"])), targets, bootstrap=100)
    noise = score_group(replace(sub, train_latents=rng.normal(size=(96, 30, 3)),
                                eval_latents=rng.normal(size=(32, 30, 3))), targets, bootstrap=0)
    assert list(good) == list(LATENT_METRICS)
    assert good["vel R2 (from latents)"].value > 0.9 and noise["vel R2 (from latents)"].value < 0.1
    assert good[REACH_DIRECTION].value > 0.95 and noise[REACH_DIRECTION].value < 0.4
    low, high = good[REACH_DIRECTION].ci95
    assert low <= good[REACH_DIRECTION].value <= high
    assert good["vel R2"].value == noise["vel R2"].value  # decoded from the (constant) rates, not the latents
    without = score_group(sub, targets, bootstrap=0)
    assert list(without) == ["vel R2"]


def test_latents_are_validated_like_rates_but_may_be_negative(tmp_path: Path) -> None:
    sub, targets, _ = _reach_view()
    spec = spec_from_targets(targets)
    latents = {"train_latents": -np.ones((96, 30, 4)), "eval_latents": -np.ones((32, 30, 4))}
    validate_submission(replace(sub, **latents), spec)
    with pytest.raises(ValidationError, match="'train_latents' present but 'eval_latents' missing"):
        validate_submission(replace(sub, train_latents=latents["train_latents"]), spec)
    bad = latents["eval_latents"].copy()
    bad[1, 2, 3] = np.inf
    with pytest.raises(ValidationError, match=r"'eval_latents': expected finite values, got 1 infinite"):
        validate_submission(replace(sub, **{**latents, "eval_latents": bad}), spec)
    with pytest.raises(ValidationError, match=r"'eval_latents': expected shape \(32, 30, '\?'\), got \(32, 29, 4\)"):
        validate_submission(replace(sub, **{**latents, "eval_latents": bad[:, :29]}), spec)
    path = write_submission(tmp_path / "sub.h5", replace(sub, train_latents=latents["train_latents"],
                                                         eval_latents=np.ones((32, 30, 3))))
    with pytest.raises(ValidationError, match="'eval_latents' has 3 latent dimensions, but 'train_latents' has 4"):
        load_submission(path, {"reach": spec})
    path = write_submission(tmp_path / "ok.h5", replace(sub, **latents))
    loaded = load_submission(path, {"reach": spec})["reach"]
    np.testing.assert_array_equal(loaded.eval_latents, latents["eval_latents"])


def test_latent_metrics_are_declared_and_described() -> None:
    assert metric_info("vel R2 (from latents)").family == "behavior"
    assert "latents" in metric_info("choice accuracy (from latents)").description
    assert metric_info(REACH_DIRECTION).bootstrap_ci
    assert dataset_metrics("mc_maze_small")[-2:] == ("vel R2 (from latents)", REACH_DIRECTION)
    assert "vel R2 (from latents)" in dataset_metrics("mc_rtt") and REACH_DIRECTION not in dataset_metrics("mc_rtt")
    assert not any("latents" in m for m in dataset_metrics("dmfc_rsg"))
