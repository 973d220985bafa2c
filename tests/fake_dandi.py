"""A tiny local stand-in for the DANDI API and its blob store, for offline download tests.

It serves the endpoints the dandi client uses to resolve assets (``/api/info/``, the asset listing by path and
the asset metadata) and the download redirect to a blob URL that honours ``Range``. Faults are injected per
blob: close the connection after some bytes, ignore ``Range``, lie about the length, fail with a status, or
redirect elsewhere.
"""

from __future__ import annotations

import hashlib
import json
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Fault:
    """Misbehaviour of the blob endpoint; ``times`` requests are affected, then it behaves."""

    close_after: int | None = None  # send this many body bytes, then drop the connection
    ignore_range: bool = False  # answer 200 with the whole body to a Range request
    extra_bytes: int = 0  # append junk beyond the real content (length announced accordingly)
    status: int | None = None  # answer with this HTTP status and no body
    redirect: str | None = None  # answer 302 to this URL ("self" for the blob's own URL: a redirect loop)
    content_length: str | None = None  # announce this Content-Length header instead of the real one
    times: int = 1


@dataclass
class FakeDandi:
    """State of the fake archive; start it with :meth:`start` and stop it with :meth:`stop`."""

    blobs: dict[str, bytes] = field(default_factory=dict)
    assets: dict[tuple[str, str], list[dict]] = field(default_factory=dict)
    faults: dict[str, Fault] = field(default_factory=dict)
    requests: list[tuple[str, str | None]] = field(default_factory=list)
    with_sha256: bool = True

    def add_asset(self, dandiset: str, version: str, path: str, content: bytes,
                  sha256: str | None = None) -> str:
        """Publish ``content`` at ``path`` of a dandiset version; return the asset id (also the blob id)."""
        asset_id = str(uuid.uuid4())
        self.blobs[asset_id] = content
        digest = {"dandi:dandi-etag": _dandi_etag(content)}
        if self.with_sha256:
            digest["dandi:sha2-256"] = sha256 or hashlib.sha256(content).hexdigest()
        self.assets.setdefault((dandiset, version), []).append({
            "asset_id": asset_id, "blob": asset_id, "zarr": None, "path": path, "size": len(content),
            "created": "2022-01-13T04:08:00Z", "modified": "2022-01-13T04:08:00Z",
            "metadata": {"identifier": asset_id, "path": path, "contentSize": len(content), "digest": digest,
                         "contentUrl": [f"{{base}}/blobs/{asset_id}"]},
        })
        return asset_id

    def add_raw(self, name: str, content: bytes) -> str:
        """Serve ``content`` at ``/raw/<name>``; return its URL."""
        self.blobs[f"raw/{name}"] = content
        return f"{self.base}/blobs/raw/{name}"

    def start(self) -> FakeDandi:
        fake = self

        class Handler(_Handler):
            state = fake

        self._server = _QuietServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self._server.server_address[1]}"
        self.api_url = self.base + "/api"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def blob_requests(self) -> list[str | None]:
        """Range headers of the blob requests so far (None for a request without Range)."""
        return [rng for path, rng in self.requests if path.startswith("/blobs/")]


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients that hang up early (interrupted-download tests) are expected


def _dandi_etag(content: bytes) -> str:
    """DANDI's multipart etag of ``content``, computed by dandischema itself."""
    import tempfile

    from dandischema.digests.dandietag import DandiETag

    with tempfile.NamedTemporaryFile() as tmp:
        tmp.write(content)
        tmp.flush()
        return DandiETag.from_file(tmp.name).as_str()


class _Handler(BaseHTTPRequestHandler):
    state: FakeDandi

    def log_message(self, *args: object) -> None:  # keep test output clean
        pass

    def do_GET(self) -> None:  # noqa: N802 (http.server API)
        url = urlsplit(self.path)
        self.state.requests.append((url.path, self.headers.get("Range")))
        parts = [p for p in url.path.split("/") if p]
        if url.path == "/api/info/":
            return self._json({"version": "0.0.0", "cli-minimal-version": "0.0.0", "cli-bad-versions": [],
                               "services": {"api": {"url": self.state.api_url}}})
        if parts[:1] == ["blobs"]:
            return self._blob("/".join(parts[1:]))
        if parts[:2] == ["api", "dandisets"] and len(parts) >= 6 and parts[3] == "versions":
            return self._assets(parts[2], parts[4], parts[6:], parse_qs(url.query))
        if parts[:2] == ["api", "assets"] and len(parts) >= 3:  # the same asset without the dandiset path
            key = next((k for k, v in self.state.assets.items() if any(a["asset_id"] == parts[2] for a in v)), None)
            if key is not None:
                return self._assets(*key, parts[2:], {})
        self._json({"detail": "Not found."}, 404)

    def _assets(self, dandiset: str, version: str, rest: list[str], query: dict) -> None:
        assets = self.state.assets.get((dandiset, version))
        if assets is None:
            return self._json({"detail": "Not found."}, 404)
        if not rest:
            prefix = query.get("path", [""])[0]
            found = [{k: v for k, v in a.items() if k != "metadata"}
                     for a in assets if a["path"].startswith(prefix)]
            return self._json({"count": len(found), "next": None, "previous": None, "results": found})
        asset = next((a for a in assets if a["asset_id"] == rest[0]), None)
        if asset is None:
            return self._json({"detail": "Not found."}, 404)
        if rest[1:] == ["download"]:
            self.send_response(302)
            self.send_header("Location", f"{self.state.base}/blobs/{asset['blob']}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        meta = json.loads(json.dumps(asset["metadata"]).replace("{base}", self.state.base))
        return self._json(meta)

    def _blob(self, blob_id: str) -> None:
        content = self.state.blobs.get(blob_id)
        if content is None:
            return self._json({"detail": "Not found."}, 404)
        fault = self.state.faults.get(blob_id)
        if fault is not None and fault.times > 0:
            fault.times -= 1
        else:
            fault = Fault()
        if fault.status is not None:
            return self._json({"detail": "fault"}, fault.status)
        if fault.redirect is not None:
            self.send_response(302)
            self.send_header("Location", self.path if fault.redirect == "self" else fault.redirect)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        content = content + b"\0" * fault.extra_bytes
        start = _range_start(self.headers.get("Range"))
        if start is not None and not fault.ignore_range:
            if start >= len(content):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(content)}")
                self.end_headers()
                return None
            body = content[start:]
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(content) - 1}/{len(content)}")
        else:
            body = content
            self.send_response(200)
        self.send_header("Content-Length", fault.content_length or str(len(body)))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        if fault.close_after is not None:
            self.wfile.write(body[:fault.close_after])
            self.wfile.flush()
            self.close_connection = True
            return None
        self.wfile.write(body)
        return None

    def _json(self, data: object, status: int = 200) -> None:
        body = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _range_start(value: str | None) -> int | None:
    if not value or not value.startswith("bytes="):
        return None
    return int(value[len("bytes="):].split("-")[0])


def make_nwb_bytes(subject: str, session_id: str, n_spikes: int = 200) -> bytes:
    """A small valid NWB file (pynwb) carrying ``subject`` and ``session_id`` in its header."""
    import tempfile
    from datetime import datetime, timezone
    from pathlib import Path

    import numpy as np
    from pynwb import NWBHDF5IO, NWBFile
    from pynwb.file import Subject

    nwb = NWBFile(session_description="nbench download test", identifier=str(uuid.uuid4()),
                  session_start_time=datetime(2009, 9, 28, tzinfo=timezone.utc), session_id=session_id,
                  subject=Subject(subject_id=subject, species="Macaca mulatta"))
    rng = np.random.default_rng(0)
    for _ in range(3):
        nwb.add_unit(spike_times=np.sort(rng.uniform(0, 10, n_spikes)))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "f.nwb"
        with NWBHDF5IO(str(path), "w") as io:
            io.write(nwb)
        return path.read_bytes()
