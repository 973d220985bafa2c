"""Where the NLB'21 datasets live on DANDI and on disk: the single table of dandisets, versions and files.

Each NLB dataset is one dandiset holding two NWB files, a train file (train + val trials, all neurons,
behavior) and a test file (test trials, held-in neurons only). Versions are pinned to published (immutable)
dandiset versions, so a download is reproducible and its sha256 digests never change.

On disk, an asset is stored at ``<data dir>/dandi/<dandiset id>/<version>/<asset path>``, e.g.
``~/.cache/nbench/dandi/000140/0.220113.0408/sub-Jenkins/sub-Jenkins_ses-small_desc-test_ecephys.nwb``.
The public NLB test-phase target file is stored at ``<data dir>/nlb/eval_data_test.h5``.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

from nbench.data.cache import data_dir
from nbench.data.nlb.catalog import NLB_CATALOG, NLBDatasetRow
from nbench.errors import UnknownNameError

#: An NLB dataset on DANDI is a row of the NLB table (:mod:`nbench.data.nlb.catalog`): dandiset id, pinned version,
#: subject and session ids from the files' headers, the two asset paths and the published size.
NlbDandiset = NLBDatasetRow
NLB_DANDISETS: dict[str, NlbDandiset] = dict(NLB_CATALOG)


@dataclass(frozen=True)
class PinnedFile:
    """A file outside DANDI, pinned by URL, size and sha256."""

    name: str
    url: str
    size: int
    sha256: str
    relpath: str


# The official NLB'21 test-phase targets (all seven datasets, 5 and 20 ms), published in nlb_tools as Git LFS.
NLB_TEST_TARGETS = PinnedFile(
    name="eval_data_test.h5",
    url="https://media.githubusercontent.com/media/neurallatents/nlb_tools/main/data/eval_data_test.h5",
    size=105_927_616,
    sha256="f2f434d30193251b58e6a693381fdd185c8fbc0e47d38f8810e65295bc42c865",
    relpath="nlb/eval_data_test.h5",
)


@dataclass(frozen=True)
class PinnedAsset:
    """Size and sha256 of one DANDI asset of a pinned version, shipped with nbench for offline checks."""

    size: int
    sha256: str


#: Digests known without asking DANDI, keyed by (dandiset id, version, asset path): ``nbench data add`` and
#: ``nbench data list`` verify these files offline. Only digests computed from the published files are listed;
#: the others are learnt from DANDI's metadata by ``nbench data fetch`` (until then such files are "unverified").
PINNED_ASSETS: dict[tuple[str, str, str], PinnedAsset] = {
    ("000140", "0.220113.0408", "sub-Jenkins/sub-Jenkins_ses-small_desc-test_ecephys.nwb"):
        PinnedAsset(689_312, "ca8a0bef5f189eafb9db1961d617e065cb461360718fde1c16a538922a6fa5fe"),
}


def pinned_asset(spec: NlbDandiset, asset_path: str) -> PinnedAsset | None:
    """The shipped digest of ``asset_path`` of ``spec``'s pinned version, or None when none ships."""
    return PINNED_ASSETS.get((spec.dandiset_id, spec.version, asset_path))


def nlb_dandiset(name: str) -> NlbDandiset:
    """The table entry of NLB dataset ``name``; a one-line error with suggestions when unknown."""
    try:
        return NLB_DANDISETS[name]
    except KeyError:
        close = difflib.get_close_matches(name, NLB_DANDISETS, n=2, cutoff=0.5)
        hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        raise UnknownNameError(
            f"unknown NLB dataset {name!r}{hint} (known: {', '.join(NLB_DANDISETS)})") from None


def dandiset_dir(spec: NlbDandiset, root: str | Path | None = None) -> Path:
    """``<data dir>/dandi/<id>/<version>``: the folder holding the dataset's assets (not created)."""
    return data_dir(root) / "dandi" / spec.dandiset_id / spec.version


def nlb_files(name: str, root: str | Path | None = None) -> dict[str, Path]:
    """Local paths of the ``"train"`` and ``"test"`` NWB files of NLB dataset ``name`` (may not exist yet)."""
    spec = nlb_dandiset(name)
    base = dandiset_dir(spec, root)
    return {"train": base / spec.train_path, "test": base / spec.test_path}


def nlb_targets_path(root: str | Path | None = None) -> Path:
    """Local path of the NLB test-phase target file (may not exist yet)."""
    return data_dir(root) / NLB_TEST_TARGETS.relpath
