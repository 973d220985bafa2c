"""IBL Brain Wide Map sessions on DANDI 000409: the pinned version and the sessions nbench knows.

The sessions are MtM's held-out test sessions (Zhang et al. 2024, reference/mtm.md section 3.1) that the Brain Wide
Map release on DANDI holds: three of the five (03d9a098, d57df551, 824cf03d; all from the Churchland lab at
UCLA, one probe each). The other two (5dcee0eb-b34d-4652-acc3-d10afc6eae68, c7bf2d49-4937-4597-b307-9f39cb1c7b16)
are not in the Brain Wide Map release and are not on DANDI 000409.

Assets are the processed files of the published version 0.260309.1324 (``desc-processed``; the raw files of
~100 GB are never matched). Their sha256 digests come from DANDI's asset metadata at fetch time (the
``dandi:sha2-256`` digest) and are kept in the version's manifest; nbench does not ship them, because the
published version's digests could not be read offline when this table was written.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class IBLDandiset:
    """The pinned dandiset version."""

    dandiset_id: str
    version: str


@dataclass(frozen=True)
class IBLSession:
    """One IBL session on DANDI.

    Attributes
    ----------
    name
        nbench name (``"ibl_03d9a098"``).
    eid
        IBL experiment id.
    subject
        Subject nickname as in ``/general/subject/subject_id`` (the asset path writes ``_`` as ``-``).
    dandiset_id, version
        The pinned dandiset version.
    asset_path
        The processed NWB asset's path inside the dandiset.
    approx_bytes
        Approximate size, when known.
    """

    name: str
    eid: str
    subject: str
    dandiset_id: str
    version: str
    asset_path: str
    approx_bytes: int | None = None

    @property
    def session_id(self) -> str:
        return self.eid

    @property
    def asset_paths(self) -> tuple[str]:
        return (self.asset_path,)


IBL_DANDISET = IBLDandiset("000409", "0.260309.1324")


def _session(eid: str, subject: str) -> IBLSession:
    folder = subject.replace("_", "-")
    path = f"sub-{folder}/sub-{folder}_ses-{eid}_desc-processed_behavior+ecephys.nwb"
    return IBLSession(f"ibl_{eid[:8]}", eid, subject, IBL_DANDISET.dandiset_id, IBL_DANDISET.version, path)


IBL_SESSIONS: dict[str, IBLSession] = {s.name: s for s in (
    _session("03d9a098-07bf-4765-88b7-85f8d8f620cc", "UCLA014"),
    _session("d57df551-6dcb-4242-9c72-b806cff5613a", "UCLA005"),
    _session("824cf03d-4012-4ab1-b499-c83a92c5589e", "UCLA011"),
)}
#: MtM's held-out test sessions that DANDI 000409 does not hold.
MISSING_MTM_SESSIONS = ("5dcee0eb-b34d-4652-acc3-d10afc6eae68", "c7bf2d49-4937-4597-b307-9f39cb1c7b16")
