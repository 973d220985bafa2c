"""Running the command line in-process from tests."""

from __future__ import annotations

import pytest

from nbench.cli import main


def cli(argv: list[str], capsys: pytest.CaptureFixture[str], code: int = 0) -> tuple[str, str]:
    """Run ``nbench argv``, check its exit code and return what it printed to stdout and stderr."""
    with pytest.raises(SystemExit) as exc:
        main(argv)
    out, err = capsys.readouterr()
    assert exc.value.code == code, err or out
    return out, err
