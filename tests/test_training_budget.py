"""Long fits say so: a GPU-sized epoch budget on a CPU is named before training, and the measured time of the
whole budget follows after the first epochs; and a GPU path that runs wherever CUDA is present."""

from __future__ import annotations

import logging

import pytest
from ndt_fixtures import TINY_CONFIG, tiny_inputs

from nbench.baselines.ndt.config import default_config
from nbench.baselines.ndt.progress import BudgetNotes

torch = pytest.importorskip("torch")


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_gpu_sized_budget_on_a_cpu_is_named_then_estimated(caplog: pytest.LogCaptureFixture) -> None:
    epochs = default_config("mc_maze").max_epochs
    assert epochs == 50501
    clock = Clock()
    notes = BudgetNotes("NDT", epochs, "cpu", clock)
    with caplog.at_level(logging.WARNING, logger="nbench"):
        notes.before()
        assert [r.getMessage() for r in caplog.records] == [
            "NDT: this config trains up to 50,501 epochs, a budget sized for a GPU, on the CPU; the time it takes "
            "here follows after a few epochs (--device cuda on a GPU, or --set max_epochs=N for a shorter fit)"]
        for epoch in range(1, 5):  # the clock starts at the first epoch reported: 3 more epochs of 4 s
            notes.after_epoch(epoch)
            clock.now += 4.0
        notes.after_epoch(5)
        notes.after_epoch(6)
    assert len(caplog.records) == 2
    assert caplog.records[1].getMessage() == ("NDT: 4.00 s per epoch on cpu: about 56 h 06 min for the remaining "
                                              "50,497 epochs (early stopping may end sooner)")


@pytest.mark.parametrize(("device", "epochs", "seconds", "expected"), [
    ("cuda", 50501, 0.01, 0),   # a GPU: not named; 8 min left is not long
    ("cpu", 500, 1.7, 0),       # a CPU preset of ~14 minutes: nothing to say
    ("cpu", 2000, 1.7, 1),      # about 56 minutes left: the estimate only
])
def test_short_or_gpu_fits_stay_quiet(caplog: pytest.LogCaptureFixture, device: str, epochs: int, seconds: float,
                                      expected: int) -> None:
    clock = Clock()
    notes = BudgetNotes("NDT", epochs, device, clock)
    with caplog.at_level(logging.WARNING, logger="nbench"):
        notes.before()
        for epoch in range(1, 6):
            notes.after_epoch(epoch)
            clock.now += seconds
    assert len(caplog.records) == expected


def test_the_ndt_fit_names_a_gpu_sized_budget(caplog: pytest.LogCaptureFixture) -> None:
    from nbench.baselines.ndt import NDTModel

    inputs, _ = tiny_inputs()
    config = NDTModel.make_config("tiny", {**TINY_CONFIG, "max_epochs": 50501, "patience": 1})
    with caplog.at_level(logging.WARNING, logger="nbench"):
        NDTModel(config, seed=0, device="cpu").fit(inputs)  # patience 1: stops at the second validation
    assert "a budget sized for a GPU" in caplog.text


@pytest.mark.parametrize(("name", "config"), [
    ("ndt", {**TINY_CONFIG, "max_epochs": 3}),
    ("mtm", {"d_model": 16, "num_layers": 1, "num_heads": 2, "hidden_size": 16, "stitch_dim": 16, "max_epochs": 2,
             "val_interval": 1}),
    ("swap_vae", {"epochs": 2}),
])
def test_torch_models_run_on_cuda(cuda_device: str, name: str, config: dict) -> None:
    """Where CUDA is present, each torch model trains and predicts on it through the runner; elsewhere the test
    is reported as not run."""
    import math

    import nbench

    record = nbench.run("lorenz", name, config=config, device=cuda_device, log=None).record
    assert record.model["fit_info"]["device"].startswith("cuda") and record.cost["device"].startswith("cuda")
    assert math.isfinite(record.metrics["co-bps"].value)
