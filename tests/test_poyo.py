"""POYO baseline: the spike-token adapter, training, checkpoints and what reaches the model.

Models here are tiny (one 32-wide layer, 4 latents per step) and run on one thread, so that every fit takes a
few seconds.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch_brain")
torch = pytest.importorskip("torch")

from nbench.baselines.poyo import POYOConfig, POYOModel, spike_time_source  # noqa: E402
from nbench.baselines.poyo.tokens import BehaviorCoding, sample, session_trials  # noqa: E402
from nbench.baselines.poyo.train import CHECKPOINT_NAME, build_model  # noqa: E402
from nbench.metrics.rates import r2_score_uniform  # noqa: E402
from nbench.tasks.segments import heldout_query, segment_task  # noqa: E402
from nbench.testing.sessions import TinySessionsTask, tiny_recording  # noqa: E402

TINY = {"dim": 32, "depth": 1, "dim_head": 16, "num_latents_per_step": 4, "ffn_dropout": 0.0, "lin_dropout": 0.0,
        "atn_dropout": 0.0, "lr": 3e-3, "batch_size": 8, "epochs": 8}


@pytest.fixture(autouse=True)
def one_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NBENCH_NUM_THREADS", "1")


def tiny_model(seed: int = 0, workdir: Path | None = None, **changes: object) -> POYOModel:
    return POYOModel(POYOConfig(**{**TINY, **changes}), seed=seed, workdir=workdir, device="cpu")


def series_view(sessions: tuple = (("s1", 12),)):
    return TinySessionsTask(sessions, behavior="series").build("test", spike_times=True).views[0]


def test_tokens_round_trip_spike_times_and_unit_ids() -> None:
    inputs = series_view().inputs
    trials = session_trials(inputs, "train")
    model = build_model(POYOConfig(**TINY), trials.window_s, 2, list(trials.unit_ids), [trials.session])
    vocab = {index: word for word, index in model.unit_emb.vocab.items()}
    events = inputs.train_spike_times
    assert list(trials.unit_ids) == [f"s1/{u}" for u in inputs.heldin_ids]
    for i in (0, 5, len(trials) - 1):
        tokens = sample(model, trials, i)
        n = int(tokens["input_mask"].obj.sum())
        kind = tokens["input_token_type"].obj[:n]
        units = np.array([vocab[int(u)] for u in tokens["input_unit_index"].obj[:n]])
        times = tokens["input_timestamps"].obj[:n]
        mine = events.trial == i
        np.testing.assert_allclose(times[kind == 0], events.time_ms[mine] / 1000.0, rtol=0, atol=1e-12)
        assert list(units[kind == 0]) == [f"s1/{inputs.heldin_ids[u]}" for u in events.unit[mine]]
        assert sorted(units[kind == 1]) == sorted(units[kind == 2]) == sorted(trials.unit_ids)  # start, end
        assert set(times[kind == 2]) == {trials.window_s} and set(times[kind == 1]) == {0.0}
        assert tokens["session_index"] == model.session_emb.vocab["s1"]
        np.testing.assert_allclose(tokens["output_timestamps"].obj, (np.arange(20) + 0.5) * 0.02, rtol=1e-6)


def test_unit_dropout_keeps_the_chosen_units_spikes() -> None:
    trials = session_trials(series_view().inputs, "train")
    model = build_model(POYOConfig(**TINY), trials.window_s, 2, list(trials.unit_ids), [trials.session])
    keep = np.array([1, 4, 7])
    tokens = sample(model, trials, 3, keep)
    n = int(tokens["input_mask"].obj.sum())
    spikes = tokens["input_token_type"].obj[:n] == 0
    expected = np.isin(trials.units[3], keep)
    np.testing.assert_array_equal(tokens["input_timestamps"].obj[:n][spikes], trials.times[3][expected])
    words = model.unit_emb.tokenizer(list(trials.unit_ids[trials.units[3][expected]]))
    np.testing.assert_array_equal(tokens["input_unit_index"].obj[:n][spikes], words)
    assert n == 2 * len(keep) + expected.sum()


def test_behaviour_coding_round_trips() -> None:
    view = series_view()
    coding = BehaviorCoding.fit([view.inputs])
    encoded = coding.encode(view.inputs.train_behavior)
    assert abs(float(np.nanmean(encoded))) < 1e-6 and np.allclose(np.nanstd(encoded, axis=(0, 1)), 1, atol=1e-5)
    np.testing.assert_allclose(coding.decode(encoded.astype(np.float64)), view.inputs.train_behavior, atol=1e-5)
    choice = TinySessionsTask((("s1", 14),), behavior="choice").build("test", spike_times=True).views[0].inputs
    coding = BehaviorCoding.fit([choice])
    labels = coding.encode(choice.train_behavior)
    assert coding.dim_out == 2 and set(labels) == {0, 1}
    np.testing.assert_array_equal(coding.decode(np.eye(2)[labels]), choice.train_behavior)


def test_short_training_lowers_the_loss_and_beats_the_training_mean() -> None:
    view = series_view()
    model = tiny_model()
    model.fit(view.inputs)
    losses = model.fit_info["train_loss"]
    assert len(losses) == TINY["epochs"] and losses[-1] < 0.7 * losses[0]
    pred = model.predict(view.inputs).eval_behavior_pred
    true = view.targets.eval_behavior
    mean = np.broadcast_to(np.nanmean(view.inputs.train_behavior, axis=(0, 1)), true.shape)
    r2_model, r2_mean = (r2_score_uniform(true.reshape(-1, 2), p.reshape(-1, 2)) for p in (pred, mean))
    assert r2_model > r2_mean + 0.3, (r2_model, r2_mean)
    assert model.fit_info["spike_times"].startswith("jittered") and "reduced recipe" in model.fit_info["recipe"]


def test_eval_behaviour_never_reaches_the_model() -> None:
    """Two recordings that differ only in the eval trials' behaviour give bit-identical fits and predictions."""
    task = TinySessionsTask((("s1", 12),), behavior="series")
    rec = tiny_recording("s1", 12)
    scrambled = tiny_recording("s1", 12)
    evals = scrambled.trials.rows_in(("test",))
    scrambled.segments.behavior[evals] = np.random.default_rng(5).normal(size=scrambled.segments.behavior[evals].shape)
    views = [segment_task(task.info, [r], "test", heldout_query, spike_times=True).views[0] for r in (rec, scrambled)]
    assert not np.allclose(views[0].targets.eval_behavior, views[1].targets.eval_behavior)
    fits = []
    for view in views:
        model = tiny_model(epochs=2)
        model.fit(view.inputs)
        fits.append((model.fit_info["train_loss"], model.predict(view.inputs).eval_behavior_pred))
    assert fits[0][0] == fits[1][0]
    np.testing.assert_array_equal(fits[0][1], fits[1][1])


def test_categorical_behaviour_uses_a_classification_head() -> None:
    view = TinySessionsTask((("s1", 12),), behavior="choice").build("test", spike_times=True).views[0]
    model = tiny_model(epochs=12)
    model.fit(view.inputs)
    pred = model.predict(view.inputs).eval_behavior_pred
    true = view.targets.eval_behavior
    majority = max(np.mean(true == 0), np.mean(true == 1))
    assert pred.shape == (view.inputs.n_eval, 1) and set(np.unique(pred)) <= {0.0, 1.0}
    assert np.mean(pred == true) > majority


class Interrupt(Exception):
    pass


def _fit(workdir: Path, stop_at: int | None = None) -> POYOModel:
    model = tiny_model(seed=3, workdir=workdir, epochs=4, checkpoint_interval=1, unit_dropout=0.3, lin_dropout=0.1)

    def interrupt(epoch: int, loss: float) -> None:
        if epoch == stop_at:
            raise Interrupt

    model.epoch_callback = interrupt
    model.fit(series_view().inputs)
    return model


def test_an_interrupted_fit_resumes_to_the_same_model(tmp_path: Path) -> None:
    straight = _fit(tmp_path / "straight")
    with pytest.raises(Interrupt):
        _fit(tmp_path / "resumed", stop_at=2)
    saved = torch.load(tmp_path / "resumed" / CHECKPOINT_NAME, weights_only=True)
    assert saved["epoch"] == 2 and "s1/0" in saved["model"]["unit_emb.vocab"]
    resumed = _fit(tmp_path / "resumed")
    assert resumed.fit_info["resumed_from_epoch"] == 2
    assert resumed.fit_info["train_loss"] == straight.fit_info["train_loss"]
    for key, value in straight.net.state_dict().items():
        if isinstance(value, torch.Tensor):
            assert torch.equal(value, resumed.net.state_dict()[key]), key
    again = _fit(tmp_path / "resumed")  # a finished fit is loaded, not repeated
    assert again.fit_info["resumed_from_epoch"] == 4 and again.fit_info["steps"] == straight.fit_info["steps"]


@pytest.mark.parametrize("damage", ["wrong_shapes", "missing_key"])
def test_a_damaged_checkpoint_state_is_one_line(tmp_path: Path, damage: str) -> None:
    """A readable checkpoint of this fit whose state cannot be restored: one line naming --fresh."""
    from nbench.errors import DataError

    with pytest.raises(Interrupt):
        _fit(tmp_path, stop_at=2)
    path = tmp_path / CHECKPOINT_NAME
    state = torch.load(path, weights_only=True)
    if damage == "wrong_shapes":
        state["model"] = {k: v[:1] if isinstance(v, torch.Tensor) and v.ndim else v for k, v in state["model"].items()}
    else:
        del state["scheduler"]
    torch.save(state, path)
    with pytest.raises(DataError) as info:
        _fit(tmp_path)
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"{path}: cannot resume from this POYO checkpoint")
    assert message.endswith("run again with --fresh to start the fit over")


def test_one_model_across_sessions_and_one_line_for_an_unknown_session() -> None:
    prepared = TinySessionsTask((("s1", 12), ("s2", 9)), behavior="series").build("test", spike_times=True)
    model = tiny_model(epochs=1)
    model.fit_sessions([v.inputs for v in prepared.views])
    assert model.fit_info["sessions"] == ["s1", "s2"] and model.fit_info["units"] == 9 + 7
    for view in prepared.views:
        assert model.predict(view.inputs).eval_behavior_pred.shape == view.targets.eval_behavior.shape
    alone = tiny_model(epochs=1)
    alone.fit(prepared.views[0].inputs)
    from nbench.errors import ValidationError

    with pytest.raises(ValidationError, match="session 's2' was not among the training sessions"):
        alone.predict(prepared.views[1].inputs)
    assert spike_time_source([dataclasses.replace(prepared.views[0].inputs, train_spike_times=None,
                                                  eval_spike_times=None)]) == "recorded"


def test_importing_nbench_and_listing_models_imports_neither_torch_brain_nor_ray() -> None:
    code = ("import sys\nfrom nbench import registry\nfrom nbench.cli import main\n"
            "for name in registry.names('models'): registry.get('models', name)\n"
            "try:\n    main(['list', 'models'])\nexcept SystemExit:\n    pass\n"
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('torch_brain', 'ray'))\n"
            "print('IMPORTED', bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "poyo" in out and out.strip().endswith("IMPORTED []")


def test_fitting_does_not_import_ray() -> None:
    code = ("import os, sys\nos.environ['NBENCH_NUM_THREADS'] = '1'\n"
            "from nbench.baselines.poyo import POYOConfig, POYOModel\n"
            "from nbench.testing.sessions import TinySessionsTask\n"
            "v = TinySessionsTask((('s1', 6),), behavior='series').build('test', spike_times=True).views[0].inputs\n"
            "m = POYOModel(POYOConfig(dim=16, depth=1, dim_head=8, num_latents_per_step=2, epochs=1), device='cpu')\n"
            "m.fit(v)\nm.predict(v)\n"
            "print('RAY', any(k.split('.')[0] == 'ray' for k in sys.modules), 'torch_brain' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().endswith("RAY False True")
