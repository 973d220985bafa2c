"""Resuming a fit from its checkpoint: one place for what a truncated, foreign or malicious file gives.

Checkpoints are read with ``torch.load(..., weights_only=True)`` (never unpickling objects). A checkpoint of
another fit (other fingerprint) is ignored and overwritten; one that cannot be read or restored is a one-line
:class:`~nbench.errors.DataError` saying how to start over (``nbench run --fresh`` by default), never a traceback
or a silent restart.
"""

from __future__ import annotations

import contextlib
import pickle
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch

from nbench.errors import DataError

#: What reading or restoring a damaged checkpoint raises (torch, pickle, a missing key, a literal that won't parse).
RESTORE_ERRORS = (pickle.UnpicklingError, RuntimeError, EOFError, OSError, ValueError, KeyError, TypeError,
                  AttributeError, IndexError, SyntaxError)


FRESH = "run again with --fresh to start the fit over"


@contextlib.contextmanager
def resuming(path: Path, model: str, start_over: str = FRESH) -> Iterator[None]:
    """Turn any error of reading or restoring checkpoint ``path`` into a one-line DataError ending with
    ``start_over``."""
    try:
        yield
    except RESTORE_ERRORS as exc:
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
        raise DataError(f"{path}: cannot resume from this {model} checkpoint (truncated, damaged or not written "
                        f"by nbench: {reason}); {start_over}") from None


def load_state(path: Path | None, device: torch.device, fingerprint: str, model: str,
               start_over: str = FRESH) -> dict[str, Any] | None:
    """This fit's checkpoint state, or None when there is none or another fit wrote it."""
    if path is None or not path.exists():
        return None
    with resuming(path, model, start_over):
        state = torch.load(path, map_location=device, weights_only=True)
    if not isinstance(state, dict) or state.get("fingerprint") != fingerprint:
        return None  # a different fit wrote it; start afresh (it is overwritten at the first save)
    return state
