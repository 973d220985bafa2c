"""NDT ensembles: ``ensemble: N`` trains N members exactly as N single fits with seeds ``seed * N + k`` and
predicts the mean of their rates; each member resumes from its own checkpoint folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from ndt_fixtures import TINY_CONFIG, tiny_inputs

from nbench.baselines.base import config_to_dict
from nbench.baselines.ndt import NDTConfig, NDTModel
from nbench.errors import ConfigError

CONFIG = {**TINY_CONFIG, "max_epochs": 6, "val_interval": 2, "checkpoint_interval": 2, "dropout": 0.1}


def _fit(seed: int, ensemble: int = 1, workdir: Path | None = None) -> NDTModel:
    inputs, _ = tiny_inputs(n_train=24, n_eval=8)
    model = NDTModel(NDTModel.make_config("tiny", {**CONFIG, "ensemble": ensemble}), seed=seed, workdir=workdir,
                     device="cpu")
    model.fit(inputs)
    return model


def test_members_are_the_single_fits_and_rates_their_mean() -> None:
    inputs, _ = tiny_inputs(n_train=24, n_eval=8)
    pair = _fit(seed=1, ensemble=2)
    singles = [_fit(seed=2), _fit(seed=3)]
    assert [m["seed"] for m in pair.fit_info["members"]] == [2, 3]
    for member, single in zip(pair.nets, singles, strict=True):
        for key, value in single.net.state_dict().items():
            assert torch.equal(value, member.state_dict()[key]), key
    expected = np.mean([s.rates(inputs.eval_spikes_heldin) for s in singles], axis=0)
    np.testing.assert_allclose(pair.rates(inputs.eval_spikes_heldin), expected, rtol=1e-6)
    sub = pair.predict(inputs)
    np.testing.assert_allclose(sub.eval_rates_heldout, expected[:, : inputs.n_bins, inputs.n_heldin:], rtol=1e-6)
    # Members differ, so the mean is not any one of them.
    assert not np.allclose(singles[0].rates(inputs.eval_spikes_heldin), expected)


def test_single_model_keeps_the_run_seed_and_config_hash() -> None:
    assert "ensemble" not in config_to_dict(NDTConfig())
    assert config_to_dict(NDTConfig(ensemble=3))["ensemble"] == 3
    single = _fit(seed=5)
    assert single.member_seed(0) == 5 and "members" not in single.fit_info


def test_each_member_resumes_from_its_own_folder(tmp_path: Path) -> None:
    first = _fit(seed=0, ensemble=2, workdir=tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["member0", "member1"]
    again = _fit(seed=0, ensemble=2, workdir=tmp_path)
    assert [s.resumed_from_epoch for s in again.summaries] == [CONFIG["max_epochs"]] * 2
    inputs, _ = tiny_inputs(n_train=24, n_eval=8)
    np.testing.assert_array_equal(first.rates(inputs.eval_spikes_heldin), again.rates(inputs.eval_spikes_heldin))


def test_ensemble_below_one_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="'ensemble' expects >= 1"):
        NDTModel(NDTModel.make_config("tiny", {"ensemble": 0}), seed=0, workdir=None, device="cpu")
