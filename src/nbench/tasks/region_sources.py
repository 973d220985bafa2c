"""Where the multi-region tasks get their sessions: the embedded synthetic set, or IBL sessions from DANDI."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from nbench.data.recording import Recording
from nbench.tasks.base import DatasetPin


@dataclass(frozen=True)
class RegionSource:
    """A source of multi-region sessions for :class:`nbench.tasks.region.RegionTask`."""

    name: str
    title: str
    bin_ms: float
    n_sessions: int
    truth: bool
    citation: str
    pin: Callable[[], DatasetPin]
    load: Callable[[str | Path | None], Sequence[Recording]]


def _synthetic_pin() -> DatasetPin:
    from nbench.data.synthetic.multi_region import dataset_version

    return DatasetPin("synthetic", "multi_region", dataset_version())


def _synthetic_load(data_dir: str | Path | None) -> Sequence[Recording]:
    from nbench.data.synthetic.multi_region import generate

    return generate()


def _ibl_pin() -> DatasetPin:
    from nbench.data.ibl.catalog import IBL_DANDISET

    return DatasetPin("DANDI", IBL_DANDISET.dandiset_id, IBL_DANDISET.version)


def _ibl_load(data_dir: str | Path | None) -> Sequence[Recording]:
    from nbench.tasks.ibl import ibl_recordings

    return ibl_recordings(data_dir)


SOURCES: dict[str, RegionSource] = {
    "multi_region": RegionSource(
        "multi_region", "synthetic multi-region sessions (3 sessions, 4-6 regions)", 20.0, 3, True,
        "nbench multi_region generator (docs/region.md), protocol of Zhang et al. 2024 (MtM)", _synthetic_pin,
        _synthetic_load),
    "ibl": RegionSource(
        "ibl", "IBL Brain Wide Map sessions (DANDI 000409)", 20.0, 3, False,
        "IBL et al. 2023, Brain Wide Map (DANDI 000409); protocol of Zhang et al. 2024 (MtM)", _ibl_pin, _ibl_load),
}
