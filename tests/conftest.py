"""Shared pytest fixtures."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` beside the checkout (real recordings); the test is skipped when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present beside this checkout")
    return SHARED_DATA


def has_nlb_tools() -> bool:
    """True when the nlb_tools oracle is installed (``pip install --no-deps nlb_tools==0.0.4``)."""
    return importlib.util.find_spec("nlb_tools") is not None


requires_oracle = pytest.mark.skipif(not has_nlb_tools(), reason="nlb_tools oracle not installed")
