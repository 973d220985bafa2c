"""Fits that last show progress on a terminal: GPFA's EM iterations and the Poisson readout of smoothing and GPFA
(a bar on stderr, drawn once a fit has lasted 2 s; here at once)."""

from __future__ import annotations

import pytest

from nbench.baselines import progress
from nbench.baselines.gpfa import GPFAConfig, GPFAModel
from nbench.baselines.smoothing import SmoothingModel
from nbench.tasks import make_task

pytest.importorskip("elephant")


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORCE_COLOR", "1")  # rich treats stderr as a terminal
    monkeypatch.setattr(progress, "DELAY_S", 0.0)


def test_smoothing_and_gpfa_fits_draw_their_progress(terminal: None, capsys: pytest.CaptureFixture[str]) -> None:
    inputs, _ = make_task("lorenz").prepare("val")
    SmoothingModel(SmoothingModel.make_config("lorenz")).fit(inputs)
    err = capsys.readouterr().err
    assert "smoothing: Poisson readout" in err and "6/6" in err
    GPFAModel(GPFAConfig(latent_dim=3, em_max_iters=4, alpha2=1e-4)).fit(inputs)
    err = capsys.readouterr().err
    assert "GPFA EM iteration" in err and "4/4" in err and "log-likelihood -" in err
    assert "GPFA: Poisson readout" in err
