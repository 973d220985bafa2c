"""Shared pytest fixtures, and the strict mode CI runs in.

Some tests need what a plain install lacks. They take one of these fixtures, which also marks them:

| fixture | marker | needs |
| --- | --- | --- |
| ``nlb_tools`` (or :func:`import_oracle`) | ``oracle`` | nlb_tools (``pip install --no-deps nlb_tools==0.0.4``) |
| ``shared_data`` | ``real_data`` | the real recordings in ``../shared/data`` (or ``$NBENCH_SHARED_DATA``) |
| ``chromium`` | ``browser`` | playwright and a ``chromium`` executable |
| ``fetched_train`` | ``fetched`` | the real MC_Maze_Small train NWB (``nbench data fetch mc_maze_small``) |

Without a prerequisite these tests skip. With ``NBENCH_STRICT_TESTS=1`` (set by ``.ci/run``) a missing
prerequisite stops the run before any test with one line, every skip is a failure, and each group must have
passing tests. The only permitted gap is the download: ``NBENCH_FETCH_NOT_RUN=<reason>`` (set by ``.ci/run``
when DANDI is unreachable) reports the ``fetched`` tests as not run. A summary line gives the counts per group.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from pathlib import Path
from types import ModuleType
from typing import NoReturn

import pytest

from nbench.data.cache import data_dir
from nbench.data.dandisets import nlb_files

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("NBENCH_SHARED_DATA") or REPO_ROOT.parent / "shared" / "data")
#: The user's data directory as it was before the tests isolated theirs (read-only use: real downloaded files).
USER_DATA_DIR = data_dir()
STRICT = os.environ.get("NBENCH_STRICT_TESTS") == "1"
FETCH_NOT_RUN = os.environ.get("NBENCH_FETCH_NOT_RUN", "")

#: Prerequisite groups: marker -> (the fixture that marks a test, what the summary calls the group).
GROUPS = {"oracle": ("nlb_tools", "oracle (nlb_tools)"), "real_data": ("shared_data", "real data (../shared/data)"),
          "browser": ("chromium", "browser (chromium)"), "fetched": ("fetched_train", "fetched train NWB")}
#: Files of ../shared/data the real-data tests read.
SHARED_FILES = ("nlb_mc_maze_small/sub-Jenkins_ses-small_desc-test_ecephys.nwb",
                "nlb_mc_maze_small/mc_maze_small_val_5ms.h5")
ORACLE_MODULES = ("nlb_tools.evaluation", "nlb_tools.make_tensors", "nlb_tools.nwb_interface")


def real_train_path() -> Path:
    """Where ``nbench data fetch mc_maze_small`` puts the real train NWB in the user's data directory."""
    return nlb_files("mc_maze_small", USER_DATA_DIR)["train"]


def why_missing(group: str) -> str | None:
    """Why a group's prerequisite is unavailable, or None when it is there."""
    if group == "oracle":
        try:
            for name in ORACLE_MODULES:
                importlib.import_module(name)
        except Exception as exc:  # an install without pandas fails with more than ImportError
            return f"nlb_tools does not import ({type(exc).__name__}: {exc}); pip install --no-deps " \
                   "nlb_tools==0.0.4 'pandas>=2,<3'"
    elif group == "real_data":
        if not SHARED_DATA.is_dir():
            return f"{SHARED_DATA} is not present (../shared/data beside the checkout, or set NBENCH_SHARED_DATA)"
        absent = [name for name in SHARED_FILES if not (SHARED_DATA / name).is_file()]
        if absent:
            return f"{SHARED_DATA} lacks {', '.join(absent)}"
    elif group == "browser":
        from nbench.leaderboard.browser import chromium_path

        if importlib.util.find_spec("playwright") is None:
            return "playwright is not installed (pip install -e '.[test]')"
        if chromium_path() is None:
            return "no chromium executable (apt-get install chromium)"
    elif group == "fetched" and not real_train_path().is_file():
        return f"real MC_Maze_Small train NWB not in the data directory ({real_train_path()}; " \
               "nbench data fetch mc_maze_small)"
    return None


def unavailable(reason: str) -> NoReturn:
    """Skip the test, or fail it in strict mode."""
    if STRICT:
        pytest.fail(f"NBENCH_STRICT_TESTS=1 and {reason}", pytrace=False)
    pytest.skip(reason)


def import_oracle(name: str) -> ModuleType:
    """Import an nlb_tools module at a test module's top: absent, the module skips (a collection error if strict)."""
    try:
        return importlib.import_module(name)
    except ImportError:
        if STRICT:
            raise
        pytest.skip(f"nlb_tools is not installed ({name})", allow_module_level=True)


@pytest.fixture(autouse=True, scope="session")
def isolated_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Tests generate and cache data in a temporary data directory, never in the user's; NDT uses one thread."""
    path = tmp_path_factory.mktemp("nbench-data")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NBENCH_DATA_DIR", str(path))
        # The tests' tiny NDT models gain nothing from a second torch thread, and on a busy machine torch's pool
        # spins: the NDT tests took 5x the CPU time with 2 threads than with 1 under a load of 6 on 2 cores.
        mp.setenv("NBENCH_NUM_THREADS", os.environ.get("NBENCH_NUM_THREADS") or "1")
        yield path


@pytest.fixture(scope="session")
def nlb_tools() -> ModuleType:
    """The nlb_tools package with its evaluation, make_tensors and nwb_interface modules imported."""
    reason = why_missing("oracle")
    if reason:
        unavailable(reason)
    return importlib.import_module("nlb_tools")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` beside the checkout (real recordings)."""
    reason = why_missing("real_data")
    if reason:
        unavailable(reason)
    return SHARED_DATA


@pytest.fixture(scope="session")
def chromium() -> str:
    """The system Chromium executable (playwright drives it)."""
    from nbench.leaderboard.browser import chromium_path

    reason = why_missing("browser")
    if reason:
        unavailable(reason)
    return str(chromium_path())


@pytest.fixture
def fetched_train(request: pytest.FixtureRequest) -> Path:
    """The real MC_Maze_Small train NWB in the user's data directory; 'not run' where CI had no network."""
    reason = why_missing("fetched")
    if reason and FETCH_NOT_RUN:
        NOT_RUN.add(request.node.nodeid)
        pytest.skip(f"not run: {FETCH_NOT_RUN}")
    if reason:
        unavailable(reason)
    return real_train_path()


@pytest.fixture
def cuda_device(request: pytest.FixtureRequest) -> str:
    """A CUDA device; without one the test is reported as not run (never a failure, even in strict mode), so the
    GPU tests run on every machine that has a GPU and say so where there is none."""
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        NOT_RUN.add(request.node.nodeid)
        pytest.skip("not run: no CUDA device on this machine")
    return "cuda"


# --- strict mode and the per-group summary -------------------------------------------------------------------

PASSED = dict.fromkeys(GROUPS, 0)
SKIPPED: list[str] = []
NOT_RUN: set[str] = set()  # node ids of the fetched tests reported as not run
PROBLEMS: list[str] = []


def pytest_configure(config: pytest.Config) -> None:
    if STRICT:
        missing = [f"{group}: {why}" for group in GROUPS
                   if (why := why_missing(group)) and not (group == "fetched" and FETCH_NOT_RUN)]
        if missing:
            raise pytest.UsageError(f"NBENCH_STRICT_TESTS=1 but a test prerequisite is missing: {'; '.join(missing)}")


@pytest.hookimpl(tryfirst=True)  # before -m deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test by the prerequisite fixtures it uses, so that the groups can be counted."""
    for item in items:
        for marker, (fixture, _) in GROUPS.items():
            if fixture in getattr(item, "fixturenames", ()):
                item.add_marker(marker)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call" and report.passed:
        for group in GROUPS:
            PASSED[group] += group in report.keywords
    if report.skipped and report.nodeid not in NOT_RUN:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        SKIPPED.append(f"{report.nodeid}: {reason}")


def pytest_collectreport(report: pytest.CollectReport) -> None:
    """A module skipped whole at import (``pytest.importorskip`` at its top) counts as a skip too."""
    if report.skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        SKIPPED.append(f"{report.nodeid}: {reason}")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Strict mode: a skip, or a group with no passing test, fails the run."""
    if not STRICT or exitstatus not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        return
    if SKIPPED:
        PROBLEMS.append(f"{len(SKIPPED)} test(s) skipped, the first {SKIPPED[0]}")
    PROBLEMS.extend(f"no {GROUPS[group][1]} test passed" for group, count in PASSED.items()
                    if count == 0 and not (group == "fetched" and NOT_RUN))
    if PROBLEMS:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not any(terminalreporter.stats.get(key) for key in ("passed", "failed", "skipped", "error")):
        return  # nothing ran (e.g. --collect-only)
    counts = [f"{GROUPS[group][1]}: " + (f"not run: {FETCH_NOT_RUN}" if group == "fetched" and NOT_RUN
                                          else f"{count} passed") for group, count in PASSED.items()]
    terminalreporter.write_line("prerequisite groups: " + " · ".join(counts))
    for problem in PROBLEMS:
        terminalreporter.write_line(f"NBENCH_STRICT_TESTS=1: {problem}", red=True, bold=True)
