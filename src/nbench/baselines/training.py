"""What the torch baselines share: device and thread choice, resumable checkpoints (progress bars:
:mod:`nbench.baselines.progress`).

Checkpoints are read with ``torch.load(..., weights_only=True)``. One of another fit (other fingerprint) is ignored
and overwritten; one that cannot be read or restored is a one-line :class:`~nbench.errors.DataError` saying how to
start over (``nbench run --fresh`` by default).

Importing this module does not import torch; its functions do.
"""

from __future__ import annotations

import contextlib
import os
import pickle
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from nbench.errors import ConfigError, DataError
from nbench.io import atomic_path


def resolve_device(device: str | None) -> Any:
    """``"auto"`` (or None) -> CUDA when available, else CPU; otherwise the named torch device."""
    import torch

    if device in (None, "", "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except RuntimeError as exc:
        raise ConfigError(f"--device {device!r}: not a torch device (expected auto, cpu, cuda or cuda:N)") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"--device {device!r}: CUDA is not available on this machine (use cpu or auto)")
    return dev


def set_threads(limit: int | None = None) -> None:
    """Use ``NBENCH_NUM_THREADS`` torch threads if set, else at most the cores this process may run on (and at
    most ``limit``: models of small matrices, where threads cost more than they save).

    torch's default already follows ``OMP_NUM_THREADS``; the affinity mask covers containers and ``taskset``.
    """
    import torch

    requested = os.environ.get("NBENCH_NUM_THREADS", "").strip()
    if requested:
        if not requested.isdigit() or int(requested) < 1:
            raise ConfigError(f"NBENCH_NUM_THREADS={requested!r}: expected a positive integer")
        torch.set_num_threads(int(requested))
        return
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    torch.set_num_threads(max(1, min(torch.get_num_threads(), usable, limit or usable)))


def optimizer_step(optimizer: Any, model: Any, loss: Any, max_grad_norm: float) -> float:
    """One gradient step on ``loss`` with the gradient norm clipped to ``max_grad_norm``; the loss as a float."""
    import torch

    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
    optimizer.step()
    return float(loss.item())


def restore_training(state: dict[str, Any], model: Any, optimizer: Any, scheduler: Any, device: Any) -> Any:
    """Load model, optimizer, scheduler and torch RNG states from a checkpoint dict; return its best weights."""
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    restore_rng(state, device)
    return state["best_model"]


def rng_state(device: Any) -> dict[str, Any]:
    """The global torch RNG states a training run draws from (CPU, and the CUDA device in use)."""
    import torch

    state = {"rng_torch": torch.get_rng_state()}
    if device.type == "cuda":
        state["rng_cuda"] = torch.cuda.get_rng_state(device)
    return state


def restore_rng(state: dict[str, Any], device: Any) -> None:
    """Restore what :func:`rng_state` saved."""
    import torch

    torch.set_rng_state(state["rng_torch"].cpu())
    if "rng_cuda" in state and device.type == "cuda":
        torch.cuda.set_rng_state(state["rng_cuda"].cpu(), device)


def save_checkpoint(path: Path | None, state: dict[str, Any]) -> None:
    """Write ``state`` atomically with ``torch.save`` (tensors, numbers, strings, lists and dicts only, so that it
    loads with ``weights_only=True``); nothing when ``path`` is None."""
    import torch

    if path is None:
        return
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


#: What reading or restoring a damaged checkpoint raises (torch, pickle, a missing key, a literal that won't parse).
RESTORE_ERRORS = (pickle.UnpicklingError, RuntimeError, EOFError, OSError, ValueError, KeyError, TypeError,
                  AttributeError, IndexError, SyntaxError)
FRESH = "run again with --fresh to start the fit over"


@contextlib.contextmanager
def resuming(path: Path, model: str, start_over: str = FRESH) -> Iterator[None]:
    """Turn any error of reading or restoring checkpoint ``path`` into a one-line DataError ending with
    ``start_over`` (never a traceback or a silent restart)."""
    try:
        yield
    except RESTORE_ERRORS as exc:
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
        raise DataError(f"{path}: cannot resume from this {model} checkpoint (truncated, damaged or not written "
                        f"by nbench: {reason}); {start_over}") from None


def load_checkpoint(path: Path | None, device: Any, fingerprint: str, model: str = "model",
                    start_over: str = FRESH) -> dict[str, Any] | None:
    """The checkpoint at ``path`` if it exists and was written by the same fit (``fingerprint``), else None.

    Loaded with ``weights_only=True``: a checkpoint never unpickles objects. One of another fit is ignored (it is
    overwritten at the first save); one that cannot be read is a one-line DataError (:func:`resuming`).
    """
    import torch

    if path is None or not path.exists():
        return None
    with resuming(path, model, start_over):
        state = torch.load(path, map_location=device, weights_only=True)
    return state if isinstance(state, dict) and state.get("fingerprint") == fingerprint else None
