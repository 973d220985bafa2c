"""The NLB'21 datasets: the one table every other place derives its list of NLB datasets from.

Each row holds a dataset's name, title, neuron count, where it lives on DANDI (pinned published version, subject
and session ids from the files' headers, the two asset paths, the version's published size), the prefix of its
scores in NLB's MC_Maze scaling results, and how its units map to brain regions. The per-dataset preprocessing
facts (windows, lags, PSTH conditions) are :data:`nbench.data.nlb.params.PARAMS`, keyed by these names.

Versions: the published versions cited with the NLB'21 tools and papers (DOI 10.48324/dandi.<id>/<version>).
MC_RTT had no published version in 2022 (NLB used the draft); 0.241017.1444 is its first published version and
holds the same assets (asset ids unchanged).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NLBDatasetRow:
    """One NLB'21 dataset.

    Attributes
    ----------
    name, title, n_neurons
        nbench / NLB name (``"mc_maze_small"``), display title, neurons (held-in + held-out).
    dandiset_id, version
        DANDI identifier (``"000140"``) and pinned published version (``"0.220113.0408"``).
    subject, session_id
        ``/general/subject/subject_id`` and ``/general/session_id`` of both NWB files; they identify the
        recording, so a file of another dataset is caught even without a checksum.
    train_path, test_path
        Asset paths inside the dandiset.
    approx_bytes
        Approximate total size of the two files (shown before download), or None when not known.
    scaling_prefix
        Prefix of the dataset's scores in NLB's ``mc_maze_scaling`` results (``"[100]"``), or None.
    regions
        ``"maze"`` (unit id's first digit: 1 = PMd, 2 = M1) or one region name for every unit.
    """

    name: str
    title: str
    n_neurons: int
    dandiset_id: str
    version: str
    subject: str
    session_id: str
    train_path: str
    test_path: str
    approx_bytes: int | None
    scaling_prefix: str | None = None
    regions: str = "maze"

    @property
    def asset_paths(self) -> tuple[str, str]:
        return (self.train_path, self.test_path)


def _jenkins(name: str, title: str, neurons: int, dandiset_id: str, version: str, session: str, approx: int,
             scaling: str | None = None) -> NLBDatasetRow:
    stem = f"sub-Jenkins/sub-Jenkins_ses-{session}_desc-"
    return NLBDatasetRow(name, title, neurons, dandiset_id, version, "Jenkins", session,
                         f"{stem}train_behavior+ecephys.nwb", f"{stem}test_ecephys.nwb", approx, scaling)


NLB_TABLE: tuple[NLBDatasetRow, ...] = (
    _jenkins("mc_maze", "MC_Maze", 182, "000128", "0.220113.0400", "full", 694_004_935),
    NLBDatasetRow("mc_rtt", "MC_RTT", 130, "000129", "0.241017.1444", "Indy", "20170202_02",
                  "sub-Indy/sub-Indy_desc-train_behavior+ecephys.nwb", "sub-Indy/sub-Indy_desc-test_ecephys.nwb",
                  50_965_512, regions="M1"),
    NLBDatasetRow("area2_bump", "Area2_Bump", 65, "000127", "0.220113.0359", "Han", "20171207",
                  "sub-Han/sub-Han_desc-train_behavior+ecephys.nwb", "sub-Han/sub-Han_desc-test_ecephys.nwb",
                  1_823_368_810, regions="area2"),
    NLBDatasetRow("dmfc_rsg", "DMFC_RSG", 54, "000130", "0.220113.0407", "Haydn", "20161211",
                  "sub-Haydn/sub-Haydn_desc-train_ecephys.nwb", "sub-Haydn/sub-Haydn_desc-test_ecephys.nwb",
                  15_673_496, regions="DMFC"),
    _jenkins("mc_maze_large", "MC_Maze_Large", 162, "000138", "0.220113.0407", "large", 149_392_888, "[500]"),
    _jenkins("mc_maze_medium", "MC_Maze_Medium", 152, "000139", "0.220113.0408", "medium", 77_300_692, "[250]"),
    _jenkins("mc_maze_small", "MC_Maze_Small", 142, "000140", "0.220113.0408", "small", 29_896_840, "[100]"),
)

NLB_CATALOG: dict[str, NLBDatasetRow] = {row.name: row for row in NLB_TABLE}
#: NLB dataset names in NLB's order (the order of ``nlb_tools.evaluate``'s results).
NLB_NAMES: tuple[str, ...] = tuple(NLB_CATALOG)
SCALING_PREFIX: dict[str, str] = {row.name: row.scaling_prefix for row in NLB_TABLE if row.scaling_prefix}
NLB_BIN_SIZES = (5, 20)


def nlb_group_name(dataset: str, bin_ms: int) -> str:
    """Submission group name: ``mc_maze`` at 5 ms, ``mc_maze_20`` at 20 ms (nlb_tools' suffix rule)."""
    return dataset if bin_ms == 5 else f"{dataset}_{bin_ms}"


def parse_nlb_group(group: str) -> tuple[str, int] | None:
    """``"mc_maze_small_20"`` -> ``("mc_maze_small", 20)``; None when ``group`` is no NLB group name."""
    for size in NLB_BIN_SIZES:
        for name in NLB_NAMES:
            if nlb_group_name(name, size) == group:
                return name, size
    return None
