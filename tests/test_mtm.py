"""MtM: masking schemes hide what they say, prompts matter, training learns, resume equals an uninterrupted fit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from nbench.baselines.mean_rate import MeanRateModel
from nbench.baselines.mtm import MTMModel, MTMTemporalModel
from nbench.baselines.mtm.config import MTMConfig
from nbench.baselines.mtm.masking import query_scheme, scheme_masks
from nbench.baselines.mtm.network import MtMNet, attention_mask
from nbench.data.synthetic.multi_region import MultiRegionParams, generate
from nbench.fitting import fit_and_predict
from nbench.scoring.task import ScoredView, TaskScorer
from nbench.tasks import make_task
from nbench.tasks.region import FAMILIES
from nbench.tasks.segments import segment_task

TINY = MultiRegionParams(n_trials=60, min_units=40, max_units=40)
FAST = dict(d_model=32, num_layers=2, num_heads=2, hidden_size=64, stitch_dim=32, dropout=0.0,
            dropout_embedding=0.0, lr=3e-3, batch_size=16, val_interval=5, checkpoint_interval=5)


#: Fewer, more strongly modulated neurons (loading 3): the short training test learns in seconds on it.
LEARNABLE = MultiRegionParams(n_trials=100, min_units=20, max_units=20, loading=3.0)


def tiny_task(family: str = "inter", params: MultiRegionParams = TINY):  # type: ignore[no-untyped-def]
    task = make_task(f"multi_region_{family}")
    return segment_task(task.info, generate(params), "test", FAMILIES[family].queries)


def test_each_scheme_masks_what_it_says() -> None:
    cfg = MTMConfig()
    regions = np.array(["A"] * 6 + ["B"] * 4)
    rng = np.random.default_rng(0)
    shape = (50, 20, 10)
    zeroed, loss = scheme_masks("neuron", shape, regions, cfg, rng)
    assert (zeroed == loss).all() and (zeroed.all(dim=1) | ~zeroed.any(dim=1)).all(), "whole neurons, every bin"
    assert abs(zeroed.float().mean().item() - cfg.mask_ratio) < 0.08
    zeroed, loss = scheme_masks("causal", shape, regions, cfg, rng)
    assert (zeroed.all(dim=2) | ~zeroed.any(dim=2)).all() and abs(zeroed.float().mean().item() - 0.6) < 0.08
    zeroed, loss = scheme_masks("inter", shape, regions, cfg, rng)
    region = regions[zeroed[0, 0].numpy()]
    assert len(set(region)) == 1 and zeroed[0, 0].sum() == (regions == region[0]).sum() and (zeroed == loss).all()
    zeroed, loss = scheme_masks("intra", shape, regions, cfg, rng)
    assert (loss <= zeroed).all(), "the loss is only on masked entries"
    inside = ~zeroed[..., :].all(dim=(0, 1)) | loss.any(dim=(0, 1))
    assert len(set(regions[inside.numpy()])) == 1, "every neuron outside the drawn region is zeroed"
    zeroed, loss = scheme_masks("temporal", shape, regions, cfg, rng)
    assert abs(zeroed.float().mean().item() - cfg.mask_ratio) < 0.08 and (zeroed == loss).all()


def test_causal_attention_never_sees_the_future() -> None:
    mask = attention_mask(2, 5, causal=True)
    time = mask[2:, 2:]
    assert torch.equal(time, torch.tril(torch.ones(5, 5, dtype=torch.bool)))
    assert not mask[:2, 2:].any() and mask[2:, :2].all()
    net = MtMNet(MTMConfig(**FAST), {"s": 6}, 10).eval()
    x = torch.rand(1, 10, 6) * 3
    later = x.clone()
    later[:, 7:] = 5.0
    with torch.no_grad():
        assert torch.allclose(net(x, "s", "causal")[:, :7], net(later, "s", "causal")[:, :7], atol=1e-6)
        assert not torch.allclose(net(x, "s", "neuron")[:, :7], net(later, "s", "neuron")[:, :7], atol=1e-6)


def test_prompt_changes_the_output_and_queries_pick_the_right_prompt() -> None:
    torch.manual_seed(0)
    net = MtMNet(MTMConfig(**FAST), {"s": 6}, 10).eval()
    x = torch.rand(2, 10, 6)
    with torch.no_grad():
        assert not torch.allclose(net(x, "s", "neuron"), net(x, "s", "inter"))
    r = np.array(["A", "A", "B", "B", "C", "C"])
    assert query_scheme(4, 2, 0, r[2:], r[:2]) == "inter"
    assert query_scheme(1, 1, 0, r[[1]], r[[0]]) == "intra"
    assert query_scheme(5, 1, 0, r[1:], r[[0]]) == "neuron"
    assert query_scheme(6, 0, 10, r, r[:0]) == "causal"
    assert query_scheme(6, 0, 0, r, r[:0], "whisker") == "causal"
    assert query_scheme(6, 0, 0, r, r[:0], "choice") == "neuron"


def test_hidden_entries_never_reach_the_input_at_eval() -> None:
    prepared = tiny_task()
    model = MTMModel(MTMConfig(**{**FAST, "max_epochs": 1}), seed=0)
    model.fit_sessions([prepared.training_view(s) for s in prepared.sessions])
    seen = []
    original = model.net.forward

    def spy(counts, session, scheme):  # type: ignore[no-untyped-def]
        seen.append((counts.detach().clone(), scheme))
        return original(counts, session, scheme)

    model.net.forward = spy
    view = prepared.views[0]
    inputs = view.inputs
    model.predict(inputs)
    cols = model.columns[inputs.session]
    hidden = [cols[u] for u in inputs.heldout_ids.tolist()]
    for counts, scheme in seen:
        assert scheme == "inter" and not counts[..., hidden].any()
    truth = view.targets.eval_spikes_heldout
    assert truth.sum() > 0 and not any(np.isin(c[..., hidden].numpy(), truth).any() and c[..., hidden].any()
                                       for c, _ in seen)


def _score(prepared, make_model):  # type: ignore[no-untyped-def]
    scorer = TaskScorer(bootstrap=0)
    fit_and_predict(prepared, make_model, type(make_model()).capabilities,
                    lambda view, inputs, sub: scorer.add(ScoredView(view.query.session, view.query.name,
                                                                    sub.as_float32(), view.targets)))
    return scorer.result()


def test_a_short_training_lowers_the_loss_and_beats_mean_rate() -> None:
    prepared = tiny_task(params=LEARNABLE)
    fitted: list[MTMModel] = []

    def make() -> MTMModel:
        fitted.append(MTMModel(MTMConfig(**{**FAST, "max_epochs": 30, "lr": 1e-2}), seed=0))
        return fitted[-1]

    trained = _score(prepared, make)
    (model,) = [m for m in fitted if m.net is not None]
    vals = [v for _, _, v in model.summary.history if v is not None]
    assert model.summary.best_val_nll < 0.97 * vals[0], "masked validation NLL falls"
    null = _score(prepared, lambda: MeanRateModel(MeanRateModel.Config()))
    # measured: inter-region co-bps 0.065 against the mean rate's -0.007 (30 epochs, ~20 s on 2 busy cores)
    assert trained.metrics["co-bps"].value > null.metrics["co-bps"].value + 0.03


def test_resume_equals_an_uninterrupted_fit(tmp_path: Path) -> None:
    prepared = tiny_task()
    views = [prepared.training_view(s) for s in prepared.sessions]
    config = MTMConfig(**{**FAST, "max_epochs": 10})
    whole = MTMTemporalModel(config, seed=3, workdir=tmp_path / "a" / "run")
    whole.fit_sessions(views)
    first = MTMTemporalModel(MTMConfig(**{**FAST, "max_epochs": 10}), seed=3, workdir=tmp_path / "b" / "run")
    from nbench.baselines.mtm import train as train_module

    calls = {"n": 0}
    real = train_module.MtMTrainer._train_epoch

    def stop_after_five(self):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] > 5:
            raise KeyboardInterrupt
        return real(self)

    train_module.MtMTrainer._train_epoch = stop_after_five
    try:
        with pytest.raises(KeyboardInterrupt):
            first.fit_sessions(views)
    finally:
        train_module.MtMTrainer._train_epoch = real
    resumed = MTMTemporalModel(MTMConfig(**{**FAST, "max_epochs": 10}), seed=3, workdir=tmp_path / "b" / "run")
    resumed.fit_sessions(views)
    assert resumed.fit_info["resumed_from_epoch"] == 5
    for a, b in zip(whole.net.state_dict().values(), resumed.net.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_every_family_of_a_set_trains_on_the_same_counts_so_one_fit_serves_them() -> None:
    """Forward prediction's training trials are the same bins split into window and forward window: the fit's
    fingerprint (config, seed, counts) is the one of co-smoothing, inter and intra, so the runner fits once."""
    from nbench.baselines.mtm import _session_data
    from nbench.tasks.region import forward_recording

    recordings = generate(TINY)
    model = MTMModel(MTMConfig(**FAST), seed=0)
    prints = {}
    for family in ("cosmooth", "forward", "inter", "intra"):
        recs = [forward_recording(r) for r in recordings] if family == "forward" else recordings
        prepared = segment_task(make_task(f"multi_region_{family}").info, recs, "test", FAMILIES[family].queries,
                                forward_inputs=family == "forward")
        views = [prepared.training_view(s) for s in prepared.sessions]
        assert len(views) == 3 and (views[0].train_spikes_heldin_forward is not None) == (family == "forward")
        sessions = [_session_data(v) for v in views]
        prints[family] = model._fingerprint(sessions)
    assert len(set(prints.values())) == 1, prints
    assert MTMModel(MTMConfig(**FAST), seed=1)._fingerprint(sessions) != prints["forward"], "the seed counts"


@pytest.mark.parametrize("damage", ["truncated", "foreign_bytes", "wrong_shapes"])
def test_damaged_checkpoint_is_one_line(tmp_path: Path, damage: str) -> None:
    """A damaged checkpoint of this fit is one line saying how to start over (was: a traceback on a
    checkpoint that loads but does not restore)."""
    from nbench.errors import DataError

    prepared = tiny_task()
    views = [prepared.training_view(s) for s in prepared.sessions]

    def fit() -> MTMTemporalModel:
        model = MTMTemporalModel(MTMConfig(**{**FAST, "max_epochs": 2, "checkpoint_interval": 1}), seed=0,
                                 workdir=tmp_path / "run")
        model.fit_sessions(views)
        return model

    model = fit()
    (path,) = tmp_path.glob("mtm-*/checkpoint.pt")
    good = torch.load(path, weights_only=True)
    if damage == "truncated":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif damage == "foreign_bytes":
        path.write_bytes(np.random.default_rng(0).bytes(4096))
    else:
        good["model"] = {k: v[:1] for k, v in model.net.state_dict().items()}
        torch.save(good, path)
    with pytest.raises(DataError) as info:
        fit()
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"{path}: cannot resume from this MtM checkpoint")
    assert message.endswith(f"delete {path.parent} to start the fit over")


def test_forward_bins_of_an_nlb_style_query_use_the_causal_prompt() -> None:
    """lorenz asks co-smoothing (hidden neurons) and forward prediction in one submission: the window is the
    neuron query's, the forward bins are MtM's causal query's, and hidden neurons stay hidden in both calls."""
    prepared = make_task("lorenz").build()
    inputs = prepared.views[0].inputs
    model = MTMModel(MTMConfig(**{**FAST, "num_layers": 1, "max_epochs": 1}), seed=0)
    model.fit_sessions([prepared.training_view(s) for s in prepared.sessions])
    calls: list[tuple[str, torch.Tensor]] = []
    original = model.net.forward

    def spy(counts, session, scheme):  # type: ignore[no-untyped-def]
        calls.append((scheme, counts.detach().clone()))
        return original(counts, session, scheme)

    model.net.forward = spy
    sub = model.predict(inputs)
    cols = model.columns[inputs.session]
    hidden = [cols[u] for u in inputs.heldout_ids.tolist()]
    assert {scheme for scheme, _ in calls} == {"intra", "causal"}  # one region: the neuron query is "intra"
    assert all(not counts[..., hidden].any() and not counts[:, inputs.n_bins:].any() for _, counts in calls)
    assert sub.eval_rates_heldout_forward.shape[1] == inputs.forward_bins
    with torch.no_grad():
        counts = torch.zeros(1, model.net.n_bins, len(cols))
        counts[0, :inputs.n_bins, [cols[u] for u in inputs.heldin_ids.tolist()]] = torch.from_numpy(
            np.nan_to_num(inputs.eval_spikes_heldin[:1]).astype(np.float32))
        causal = original(counts, inputs.session, "causal").exp()[0, inputs.n_bins:]
    np.testing.assert_allclose(sub.eval_rates_heldout_forward[0], causal[:, hidden].numpy(), rtol=1e-5)
