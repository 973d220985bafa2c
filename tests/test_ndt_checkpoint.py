"""NDT checkpoints: an interrupted fit resumes to the same weights; files load with ``weights_only=True``."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from ndt_fixtures import TINY_CONFIG, tiny_inputs

from nbench.baselines.ndt import NDTModel
from nbench.baselines.ndt.train import BEST_NAME, CHECKPOINT_NAME
from nbench.errors import DataError

CONFIG = {**TINY_CONFIG, "max_epochs": 12, "val_interval": 2, "checkpoint_interval": 1, "dropout": 0.1}


class Interrupt(Exception):
    pass


def _fit(workdir: Path, stop_at: int | None = None, select_by: str = "masked_nll") -> NDTModel:
    inputs, _ = tiny_inputs(n_train=24, n_eval=8)
    config = NDTModel.make_config("tiny", {**CONFIG, "select_by": select_by})
    model = NDTModel(config, seed=1, workdir=workdir, device="cpu")

    def interrupt(epoch: int, train: float, val: float | None) -> None:
        if epoch == stop_at:
            raise Interrupt

    model.epoch_callback = interrupt
    model.fit(inputs)
    return model


@pytest.mark.parametrize("select_by", ["masked_nll", "co_bps"])
def test_resume_gives_the_same_model(tmp_path: Path, select_by: str) -> None:
    straight = _fit(tmp_path / "straight", select_by=select_by)
    with pytest.raises(Interrupt):
        _fit(tmp_path / "resumed", stop_at=7, select_by=select_by)
    saved = torch.load(tmp_path / "resumed" / CHECKPOINT_NAME, weights_only=True)
    assert saved["epoch"] == 7
    resumed = _fit(tmp_path / "resumed", select_by=select_by)
    assert resumed.summary.best_epoch == straight.summary.best_epoch
    assert resumed.summary.best_val_co_bps == straight.summary.best_val_co_bps
    assert resumed.summary.resumed_from_epoch == 7
    assert resumed.fit_info["resumed_from_epoch"] == 7
    assert resumed.fit_info["epochs"] == straight.fit_info["epochs"] == straight.summary.epochs
    assert resumed.summary.history == straight.summary.history
    for key, value in straight.net.state_dict().items():
        assert torch.equal(value, resumed.net.state_dict()[key]), key
    inputs, _ = tiny_inputs(n_train=24, n_eval=8)
    np.testing.assert_array_equal(straight.rates(inputs.eval_spikes_heldin), resumed.rates(inputs.eval_spikes_heldin))


def test_finished_fit_is_not_repeated(tmp_path: Path) -> None:
    first = _fit(tmp_path)
    calls: list[int] = []
    inputs, _ = tiny_inputs(n_train=24, n_eval=8)
    again = NDTModel(NDTModel.make_config("tiny", CONFIG), seed=1, workdir=tmp_path, device="cpu")
    again.epoch_callback = lambda epoch, *_: calls.append(epoch)
    again.fit(inputs)
    assert calls == []
    assert again.summary.best_epoch == first.summary.best_epoch


def test_other_config_does_not_resume(tmp_path: Path) -> None:
    _fit(tmp_path)
    inputs, _ = tiny_inputs(n_train=24, n_eval=8)
    other = NDTModel(NDTModel.make_config("tiny", {**CONFIG, "lr": 1e-3}), seed=1, workdir=tmp_path, device="cpu")
    other.fit(inputs)
    assert other.summary.resumed_from_epoch is None
    assert other.summary.epochs == CONFIG["max_epochs"]


def test_checkpoint_files_are_plain_state(tmp_path: Path) -> None:
    model = _fit(tmp_path)
    best = torch.load(tmp_path / BEST_NAME, weights_only=True)
    assert set(best) == set(model.net.state_dict())
    state = torch.load(tmp_path / CHECKPOINT_NAME, weights_only=True)
    assert {"model", "optimizer", "scheduler", "epoch", "best_model", "rng_torch", "rng_generator"} <= set(state)
    for key, value in best.items():
        assert torch.equal(value, state["best_model"][key])
    assert not list(tmp_path.glob("*.tmp"))  # atomic writes leave no temporary files


class _Payload:
    """Unpickling this would run a shell command; ``weights_only=True`` must refuse it."""

    def __reduce__(self) -> tuple:
        return (os.system, ("touch pwned-by-checkpoint",))


@pytest.mark.parametrize("damage", ["truncated", "foreign_bytes", "malicious_pickle", "wrong_shapes"])
def test_item13_damaged_checkpoint_is_one_line(tmp_path: Path, damage: str, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    model = _fit(tmp_path)
    path = tmp_path / CHECKPOINT_NAME
    good = torch.load(path, weights_only=True)
    if damage == "truncated":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif damage == "foreign_bytes":
        path.write_bytes(np.random.default_rng(0).bytes(4096))
    elif damage == "malicious_pickle":
        torch.save({"fingerprint": good["fingerprint"], "model": _Payload()}, path)
    else:
        good["model"] = {k: v[:1] for k, v in model.net.state_dict().items()}
        torch.save(good, path)
    with pytest.raises(DataError) as info:
        _fit(tmp_path)
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"{path}: cannot resume from this NDT checkpoint")
    assert message.endswith("run again with --fresh to start the fit over")
    assert not (tmp_path / "pwned-by-checkpoint").exists()
