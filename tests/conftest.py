"""Shared pytest fixtures."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from nbench.data.cache import data_dir

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
#: The user's data directory as it was before the tests isolated theirs (read-only use: real downloaded files).
USER_DATA_DIR = data_dir()


@pytest.fixture(autouse=True, scope="session")
def isolated_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Tests generate and cache data in a temporary data directory, never in the user's."""
    path = tmp_path_factory.mktemp("nbench-data")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NBENCH_DATA_DIR", str(path))
        yield path


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
