"""Fetch NLB'21 dandisets from DANDI, verify them, and report what is on disk.

The dandi client (``dandi.dandiapi.DandiAPIClient``) resolves each asset of the pinned dandiset version to
its size, sha256 (``dandi:sha2-256`` in the asset metadata; DANDI's ``dandi:dandi-etag`` when an asset has no
sha256) and download URL. The bytes then go through :func:`nbench.data.download.download` (resumable
``.part`` file, digest check, atomic rename). The DANDI instance is the dandi client's: ``DANDI_INSTANCE``
(default ``dandi``)
or an explicit ``api_url``.

What DANDI said about a version is kept in ``<version dir>/.nbench-manifest.json`` so ``nbench data list`` can
verify files offline.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from nbench.data.dandisets import (
    NLB_TEST_TARGETS,
    NlbDandiset,
    dandiset_dir,
    nlb_dandiset,
    nlb_targets_path,
    pinned_asset,
)
from nbench.data.download import RemoteFile, cached_digest, download, is_verified, part_path, sidecar_path
from nbench.errors import DataError, NbenchError
from nbench.extras import require
from nbench.io import open_h5_checked, write_json_atomic

MANIFEST = ".nbench-manifest.json"
logger = logging.getLogger(__name__)


def resolve(spec: NlbDandiset, api_url: str | None = None) -> list[RemoteFile]:
    """Ask DANDI for the train and test assets of ``spec``'s pinned version (size, digest, download URL).

    Raises
    ------
    DataError
        One line when DANDI is unreachable, the version or an asset does not exist, or metadata is incomplete.
    """
    require("dandi", "nbench data fetch")
    import requests
    from dandi.dandiapi import DandiAPIClient
    from dandi.exceptions import NotFoundError

    where = f"DANDI {spec.dandiset_id}/{spec.version}"
    try:
        with _quiet_dandi_logs(), DandiAPIClient(api_url=api_url) as client:
            _probe(client, where)
            dandiset = client.get_dandiset(spec.dandiset_id, spec.version)
            return [_remote_file(spec, dandiset.get_asset_by_path(path)) for path in spec.asset_paths]
    except NotFoundError as exc:  # the client's message goes on with advice; its first sentence is the fact
        raise DataError(f"{where}: {_first_line(exc).split('. ')[0]}") from None
    except requests.RequestException as exc:
        raise DataError(f"{where}: cannot reach the DANDI API ({_first_line(exc)})") from None
    except RuntimeError as exc:  # the dandi client's "could not retrieve server info"
        raise DataError(f"{where}: {_first_line(exc)}") from None


def _probe(client: Any, where: str) -> None:
    """Fail in seconds when the archive is unreachable (the client itself retries for about a minute)."""
    import requests

    url = client.get_url("/info/")
    try:
        client.session.get(url, timeout=(10, 30)).raise_for_status()
    except requests.RequestException as exc:
        reason = type(exc).__name__ if isinstance(exc, requests.ConnectionError) else _first_line(exc)
        raise DataError(f"{where}: cannot reach the DANDI API at {url} ({reason}); check the network, or "
                        "set DANDI_INSTANCE for another archive") from None


def _remote_file(spec: NlbDandiset, asset: Any) -> RemoteFile:
    """Size, digest and download URL of one DANDI asset, from its metadata."""
    meta = asset.get_raw_metadata()
    digests = meta.get("digest") or {}
    if "dandi:sha2-256" in digests:
        algorithm, digest = "sha256", digests["dandi:sha2-256"]
    elif "dandi:dandi-etag" in digests:
        algorithm, digest = "dandi-etag", digests["dandi:dandi-etag"]
    else:
        raise DataError(f"DANDI {spec.dandiset_id}/{spec.version} {asset.path}: metadata has no sha256 or "
                        f"dandi-etag digest (found {sorted(digests)})")
    size = int(meta.get("contentSize", asset.size))
    if size != asset.size:
        raise DataError(f"DANDI {spec.dandiset_id}/{spec.version} {asset.path}: metadata size {size} differs "
                        f"from the asset size {asset.size}")
    return RemoteFile(label=asset.path, url=asset.download_url, size=asset.size, digest=digest,
                      algorithm=algorithm, source={"dandiset": spec.dandiset_id, "version": spec.version,
                                                   "asset_id": asset.identifier, "path": asset.path})


@contextlib.contextmanager
def _quiet_dandi_logs() -> Iterator[None]:
    """The dandi client logs HTTP failures as multi-line errors; nbench reports them as one line instead."""
    logger = logging.getLogger("dandi")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def nwb_identity(path: Path) -> tuple[str | None, str | None]:
    """Subject and session id in the header of NWB file ``path`` (a one-line error if it is no NWB file)."""
    with open_h5_checked(path, "NWB file") as h5:
        if _text(h5.attrs.get("neurodata_type")) != "NWBFile":
            raise DataError(f"{path}: not an NWB file (root neurodata_type is "
                            f"{_text(h5.attrs.get('neurodata_type'))!r}, expected 'NWBFile')")
        return _text(h5.get("general/subject/subject_id")), _text(h5.get("general/session_id"))


def check_nwb_identity(path: Path, spec: NlbDandiset) -> None:
    """Raise a one-line error unless ``path`` is an NWB file of ``spec``'s recording (subject and session)."""
    subject, session = nwb_identity(path)
    if (subject, session) != (spec.subject, spec.session_id):
        raise DataError(f"{path}: NWB file of another dataset (subject {subject!r}, session {session!r}; "
                        f"expected subject {spec.subject!r}, session {spec.session_id!r} of {spec.name}, "
                        f"DANDI {spec.dandiset_id})")


def _text(value: Any) -> str | None:
    """A scalar HDF5 string (dataset or attribute) as str, or None."""
    if value is None:
        return None
    if hasattr(value, "shape") and hasattr(value, "dtype"):  # h5py.Dataset
        if value.shape != ():
            return None
        value = value[()]
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def fetch(name: str, root: str | Path | None = None, *, force: bool = False, progress: Any = None,
          api_url: str | None = None, session: Any = None, files: tuple[str, ...] = ("train", "test")
          ) -> list[Path]:
    """Download (or verify) the NWB files of dataset ``name``; return their paths.

    ``name`` is an NLB dataset (its train and test files; ``files`` picks ``"train"`` and/or ``"test"``), an
    IBL session (``ibl_03d9a098``) or ``ibl`` (every IBL session nbench knows). Existing files are checked
    (subject/session, size, digest; the digest from the sidecar cache when the file is unchanged) instead of
    downloaded again; ``force`` deletes and re-downloads them.
    """
    from nbench.data.ibl.catalog import IBL_SESSIONS

    if name == "ibl" or name in IBL_SESSIONS:
        specs = list(IBL_SESSIONS.values()) if name == "ibl" else [IBL_SESSIONS[name]]
        return [p for spec in specs for p in fetch_assets(spec, {"processed": spec.asset_path}, root, force=force,
                                                            progress=progress, api_url=api_url, session=session)]
    spec = nlb_dandiset(name)
    roles = {role: path for role, path in zip(("train", "test"), spec.asset_paths, strict=True) if role in files}
    return fetch_assets(spec, roles, root, force=force, progress=progress, api_url=api_url, session=session)


def fetch_assets(spec: Any, roles: dict[str, str], root: str | Path | None = None, *, force: bool = False,
                 progress: Any = None, api_url: str | None = None, session: Any = None) -> list[Path]:
    """Download (or verify) the assets ``roles`` (role -> asset path) of a pinned dandiset recording ``spec``
    (an NLB dataset or an IBL session: ``name``, ``dandiset_id``, ``version``, ``subject``, ``session_id``,
    ``asset_paths``)."""
    base = dandiset_dir(spec, root)
    remotes = resolve(spec, api_url)
    write_manifest(base, spec, remotes)
    by_path = {remote.label: remote for remote in remotes}
    paths = []
    for rel in roles.values():
        dest, remote = base / rel, by_path[rel]
        if force:
            _remove(dest)
        if dest.exists():
            check_existing(dest, remote, spec, progress)
        else:
            download(remote, dest, session=session, progress=progress,
                     check=lambda part, label=rel: _check_download(part, spec, label))
        paths.append(dest)
    return paths


def _check_download(part: Path, spec: NlbDandiset, label: str) -> None:
    """Identity check of a complete download, reported under the asset's DANDI name rather than the part file."""
    try:
        check_nwb_identity(part, spec)
    except NbenchError as exc:
        reason = str(exc).removeprefix(f"{part}: ")
        raise DataError(f"DANDI {spec.dandiset_id}/{spec.version} {label}: {reason}; the download was removed") \
            from None


def check_existing(dest: Path, remote: RemoteFile, spec: NlbDandiset, progress: Any = None) -> None:
    """One-line error unless ``dest`` is the right recording with ``remote``'s size and digest."""
    check_nwb_identity(dest, spec)
    size = dest.stat().st_size
    if size != remote.size:
        raise DataError(f"{dest}: {size:,} bytes, expected {remote.size:,} (truncated or altered); run "
                        f"`nbench data fetch {spec.name} --force` to download it again")
    if not is_verified(dest, remote, progress):
        raise DataError(f"{dest}: {remote.algorithm} differs from DANDI's {remote.digest}; run "
                        f"`nbench data fetch {spec.name} --force` to download it again")


def verify_files(name: str, files: list[Path], root: str | Path | None = None) -> None:
    """Check NWB files of dataset ``name`` against the digests DANDI published for its pinned version.

    The digests are those ``nbench data fetch`` recorded in the version's manifest; checking is a ``stat`` while
    a file's verified sidecar is fresh, a re-hash otherwise. A file without a recorded digest (placed by hand) is
    named in a warning.

    Raises
    ------
    DataError
        One line when a file is of another recording or differs from DANDI's size or digest.
    """
    spec = nlb_dandiset(name)
    base = dandiset_dir(spec, root)
    expected = read_manifest(spec, root)
    for path in files:
        remote = expected.get(Path(path).relative_to(base).as_posix()) if Path(path).is_relative_to(base) else None
        if remote is None:
            logger.warning("%s: not verified against DANDI (no digest recorded for it); run `nbench data fetch "
                           "%s` to check it", path, name)
            continue
        check_existing(Path(path), remote, spec)


def fetch_test_targets(root: str | Path | None = None, *, force: bool = False, progress: Any = None,
                       url: str | None = None, session: Any = None) -> Path:
    """Download (or verify) the public NLB'21 test-phase target file ``eval_data_test.h5``."""
    pinned = NLB_TEST_TARGETS
    remote = RemoteFile(label=pinned.name, url=url or pinned.url, size=pinned.size, digest=pinned.sha256,
                        source={"pinned": pinned.url})
    dest = nlb_targets_path(root)
    if force:
        _remove(dest)
    if dest.exists():
        if not is_verified(dest, remote, progress):
            raise DataError(f"{dest}: size or sha256 differs from the pinned {pinned.sha256[:12]}...; run "
                            "`nbench data fetch --test-targets --force` to download it again")
        return dest
    return download(remote, dest, session=session, progress=progress)


def _remove(dest: Path) -> None:
    for path in (dest, sidecar_path(dest), part_path(dest)):
        path.unlink(missing_ok=True)


def write_manifest(base: Path, spec: Any, remotes: list[RemoteFile]) -> None:
    """Record what DANDI said about this version's assets (for offline verification by ``nbench data list``);
    assets of other recordings of the same version already in the manifest are kept."""
    old = {}
    if (base / MANIFEST).is_file():
        try:
            old = json.loads((base / MANIFEST).read_text()).get("assets", {})
        except (OSError, ValueError):
            old = {}
    write_json_atomic(base / MANIFEST, {
        "name": spec.name, "dandiset": spec.dandiset_id, "version": spec.version,
        "resolved_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "assets": {**old, **{r.label: {"asset_id": r.source.get("asset_id"), "size": r.size, "algorithm": r.algorithm,
                                       "digest": r.digest, "url": r.url} for r in remotes}},
    })


def read_manifest(spec: NlbDandiset, root: str | Path | None = None) -> dict[str, RemoteFile]:
    """Expected files of ``spec`` as last resolved from DANDI (empty before the first fetch)."""
    path = dandiset_dir(spec, root) / MANIFEST
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: unreadable manifest ({_first_line(exc)}); delete it and fetch again") \
            from None
    if (data.get("dandiset"), data.get("version")) != (spec.dandiset_id, spec.version):
        raise DataError(f"{path}: manifest of DANDI {data.get('dandiset')}/{data.get('version')}, expected "
                        f"{spec.dandiset_id}/{spec.version}; delete it and fetch again")
    return {path: RemoteFile(label=path, url=a["url"], size=a["size"], digest=a["digest"],
                             algorithm=a["algorithm"], source={"asset_id": a.get("asset_id")})
            for path, a in data.get("assets", {}).items()}


@dataclass(frozen=True)
class FileState:
    """What is on disk for one expected file."""

    path: Path
    state: str  # "verified", "unverified" (no digest known offline), "corrupt", "partial", "missing"
    size: int | None  # bytes on disk (of the part file when partial)
    expected_size: int | None


def file_state(dest: Path, remote: RemoteFile | None, progress: Any = None) -> FileState:
    """State of ``dest`` against ``remote`` (None when the digest is not known offline)."""
    expected = remote.size if remote else None
    if dest.exists():
        size = dest.stat().st_size
        if remote is None:
            return FileState(dest, "verified" if cached_digest(dest) else "unverified", size, expected)
        state = "verified" if is_verified(dest, remote, progress) else "corrupt"
        return FileState(dest, state, size, expected)
    part = part_path(dest)
    if part.exists() and part.stat().st_size > 0:  # an empty part holds nothing to resume
        return FileState(dest, "partial", part.stat().st_size, expected)
    return FileState(dest, "missing", None, expected)


def dataset_state(name: str, root: str | Path | None = None, progress: Any = None) -> dict[str, FileState]:
    """``{"train": ..., "test": ...}`` states of dataset ``name`` (hashing only files changed since checked)."""
    spec = nlb_dandiset(name)
    base = dandiset_dir(spec, root)
    expected = read_manifest(spec, root)
    return {role: file_state(base / rel, expected.get(rel) or pinned_remote(spec, rel), progress)
            for role, rel in (("train", spec.train_path), ("test", spec.test_path))}


def pinned_remote(spec: NlbDandiset, asset_path: str) -> RemoteFile | None:
    """The asset as a :class:`RemoteFile` from the digest shipped with nbench (None when none ships)."""
    pinned = pinned_asset(spec, asset_path)
    if pinned is None:
        return None
    return RemoteFile(label=asset_path, url="", size=pinned.size, digest=pinned.sha256,
                      source={"dandiset": spec.dandiset_id, "version": spec.version, "pinned": "nbench"})


def targets_state(root: str | Path | None = None, progress: Any = None) -> FileState:
    pinned = NLB_TEST_TARGETS
    remote = RemoteFile(label=pinned.name, url=pinned.url, size=pinned.size, digest=pinned.sha256)
    return file_state(nlb_targets_path(root), remote, progress)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."
