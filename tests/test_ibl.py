"""IBL sessions (DANDI 000409): NWB fixtures in both conversion layouts, fetched from a local fake DANDI, read,
filtered, cut into MtM's trials and scored on every region-task family."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from fake_dandi import FakeDandi
from fixtures.ibl_nwb import REGIONS, UNITS_PER_REGION, write_ibl_nwb

from nbench.data import dandi_fetch
from nbench.data.ibl.catalog import IBL_SESSIONS
from nbench.data.ibl.nwbread import read_ibl
from nbench.errors import DataError
from nbench.runner import RunSpec, run
from nbench.tasks.ibl import cut_trials, ibl_file, trial_filter

EID = "03d9a098-07bf-4765-88b7-85f8d8f620cc"


@pytest.mark.parametrize("layout", ["2026", "2023"])
def test_both_layouts_read_to_the_same_recording(layout: str, tmp_path: Path) -> None:
    truth = write_ibl_nwb(tmp_path / "s.nwb", EID, "UCLA014", layout)
    rec = read_ibl(tmp_path / "s.nwb", "ibl_03d9a098")
    assert rec.n_units == len(REGIONS) * UNITS_PER_REGION
    assert rec.units.regions() == list(REGIONS), "Beryl labels from the units column or the localization table"
    assert np.array_equal(rec.trials["choice"], truth["choice"])
    assert np.array_equal(np.flatnonzero(~trial_filter(rec.trials)), truth["dropped"]), "IBL's trial filter"
    cut = cut_trials(rec)
    seg = cut.segments
    assert seg.counts.shape == (len(truth["choice"]) - len(truth["dropped"]), 100, rec.n_units)
    splits = {s: int((cut.trials.split == s).sum()) for s in ("train", "val", "test")}
    n = seg.counts.shape[0]
    assert splits == {"train": int(0.7 * n), "val": int(0.1 * n), "test": n - int(0.7 * n) - int(0.1 * n)}
    times = seg.spike_times
    binned = np.zeros(seg.counts.shape)
    np.add.at(binned, (times.trial, (times.time_ms // 20.0).astype(int), times.unit), 1)
    assert np.array_equal(binned, seg.counts) and times.time_ms.max() < 2000.0
    visa = rec.units.region == "VISa"
    assert seg.counts[:, 27:40][..., visa].mean() > 2 * seg.counts[:, :20][..., visa].mean(), "stimulus response"
    assert seg.behavior.shape == seg.counts.shape[:2] + (1,) and seg.behavior[:, 40].mean() > 1.5


def test_a_damaged_file_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.nwb"
    write_ibl_nwb(path, EID, "UCLA014")
    path.write_bytes(path.read_bytes()[:5000])
    with pytest.raises(DataError, match="bad.nwb"):
        read_ibl(path)


@pytest.fixture(scope="module")
def fetched(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every known IBL session written as a fixture, published on a fake DANDI and fetched like real data."""
    root = tmp_path_factory.mktemp("ibl")
    fake = FakeDandi().start()
    try:
        for i, session in enumerate(IBL_SESSIONS.values()):
            source = root / "src" / f"{session.name}.nwb"
            write_ibl_nwb(source, session.eid, session.subject, "2026", n_trials=70, seed=i)
            fake.add_asset(session.dandiset_id, session.version, session.asset_path, source.read_bytes())
        data = root / "data"
        paths = dandi_fetch.fetch("ibl", data, api_url=fake.api_url)
        assert [p.name for p in paths] == [Path(s.asset_path).name for s in IBL_SESSIONS.values()]
        again = dandi_fetch.fetch("ibl", data, api_url=fake.api_url)  # verified, not downloaded again
        assert again == paths and len(fake.blob_requests()) == len(paths)
    finally:
        fake.stop()
    return data


def test_missing_sessions_name_the_fetch_command(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="nbench data fetch ibl"):
        run(RunSpec.create("ibl_inter", "mean_rate", data_dir=str(tmp_path)))


@pytest.mark.parametrize("family", ["cosmooth", "forward", "inter", "intra", "choice", "whisker"])
def test_every_family_runs_on_the_fetched_sessions(fetched: Path, family: str) -> None:
    assert all(ibl_file(s, fetched).is_file() for s in IBL_SESSIONS.values())
    record = run(RunSpec.create(f"ibl_{family}", "smoothing", data_dir=str(fetched),
                                overrides={"kern_sd_ms": 40, "alpha": 1.0})).record
    assert set(record.breakdown) == set(IBL_SESSIONS)
    main = record.metrics[next(iter(record.metrics))]
    assert np.isfinite(main.value) and main.ci95 is not None
    if family == "inter":
        visa = [record.breakdown[s]["region_VISa"]["co-bps per neuron"].value for s in IBL_SESSIONS]
        dg = [record.breakdown[s]["region_DG"]["co-bps per neuron"].value for s in IBL_SESSIONS]
        assert np.mean(visa) > np.mean(dg), "stimulus-driven VISa is predictable from LP and CA1, noise DG is not"
    if family == "choice":
        assert record.metrics["choice accuracy (decoded)"].value > 0.6
