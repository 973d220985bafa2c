"""Small tasks for sweep tests: nlb_tools-layout tensor files imported into the test data directory, so that
Ray workers and child processes (which inherit ``NBENCH_DATA_DIR``) find them by name too."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from nbench.data.nlb_tensors import import_tensors

TASKS = ("sweep_a", "sweep_b")
MODELS = ("mean_rate", "smoothing", "gpfa")


def tiny_tensors(seed: int, n_train: int = 40, n_eval: int = 12, n_bins: int = 25, n_in: int = 24,
                 n_out: int = 6, n_fwd: int = 5) -> dict[str, np.ndarray]:
    """Poisson counts from smooth latent rates (so smoothing and GPFA have something to find)."""
    rng = np.random.default_rng(seed)
    n = n_train + n_eval
    t = np.linspace(0, 1, n_bins + n_fwd)
    phase = rng.uniform(0, 2 * np.pi, n)[:, None]
    latents = np.stack([np.sin(2 * np.pi * t + phase), np.cos(2 * np.pi * t + phase)], axis=-1)
    weights = rng.normal(0, 0.8, (2, n_in + n_out))
    counts = rng.poisson(0.4 * np.exp(latents @ weights)).astype(np.float32)
    win, fwd = counts[:, :n_bins], counts[:, n_bins:]
    return {"train_spikes_heldin": win[:n_train, :, :n_in], "train_spikes_heldout": win[:n_train, :, n_in:],
            "train_spikes_heldin_forward": fwd[:n_train, :, :n_in],
            "train_spikes_heldout_forward": fwd[:n_train, :, n_in:],
            "eval_spikes_heldin": win[n_train:, :, :n_in], "eval_spikes_heldout": win[n_train:, :, n_in:],
            "eval_spikes_heldin_forward": fwd[n_train:, :, :n_in],
            "eval_spikes_heldout_forward": fwd[n_train:, :, n_in:]}


def import_tiny_tasks(data_dir: Path, names: tuple[str, ...] = TASKS) -> tuple[str, ...]:
    """Import one tiny tensor file per name (20 ms bins) into ``data_dir``; returns the task names."""
    for i, name in enumerate(names):
        if (data_dir / "imported" / f"{name}.h5").exists():
            continue
        data_dir.mkdir(parents=True, exist_ok=True)
        src = data_dir / f"{name}_src_20ms.h5"
        with h5py.File(src, "w") as h5:
            for key, value in tiny_tensors(seed=i).items():
                h5.create_dataset(key, data=value)
        import_tensors(src, name, data_dir, bin_ms=20)
        src.unlink()
    return names


def sweep_yaml(path: Path, tasks: tuple[str, ...] = TASKS, models: tuple[str, ...] = MODELS,
               seeds: tuple[int, ...] = (0, 1, 2, 3), extra: str = "") -> Path:
    """A sweep file of tasks x models x seeds."""
    path.write_text(f"tasks: [{', '.join(tasks)}]\nmodels: [{', '.join(models)}]\n"
                    f"seeds: [{', '.join(map(str, seeds))}]\n{extra}")
    return path
