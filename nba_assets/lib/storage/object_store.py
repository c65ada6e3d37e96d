"""Object stores: the local filesystem (default) and Google Cloud Storage (prod).

Used for raw payload archiving (content-addressed), quarantined rows, models and reports.
Writes are atomic on the local filesystem (write to a temp file, then rename).
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any, Protocol

from nba_assets.lib.errors import StoreUnavailableError

_SAFE_PART = re.compile(r"^[A-Za-z0-9._=\-]+$")


def _umask() -> int:
    """The process umask: from ``/proc/self/status`` on Linux (reading it changes nothing), else by
    setting it and back (process-wide for that instant: done once, at import)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0)
    os.umask(mask)
    return mask


# The mode a plain open() gives a new file: mkstemp makes its file 0600, so every object (the reports
# included) was unreadable to any other account, unlike the files ``nba-assets report`` writes.
FILE_MODE = 0o666 & ~_umask()


def _check_key(key: str) -> str:
    parts = key.split("/")
    if not key or any(p in ("", ".", "..") or not _SAFE_PART.match(p) for p in parts):
        raise ValueError(f"object store: key {key!r} is not a safe relative path")
    return key


def _folder(prefix: str) -> str:
    """A listing prefix is a folder: ``"a/b"`` and ``"a/b/"`` both mean the keys under ``a/b``; ``""``
    means every key. Checked like a key, so no listing reaches outside the store."""
    folder = prefix.rstrip("/")
    return _check_key(folder) if folder else ""


class ObjectStore(Protocol):
    def put_bytes(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> str: ...

    def get_bytes(self, key: str) -> bytes: ...

    def exists(self, key: str) -> bool: ...

    def list_keys(self, prefix: str) -> list[str]: ...

    def uri(self, key: str) -> str: ...


class LocalObjectStore:
    """Files under ``root``; keys are relative POSIX paths."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / _check_key(key)

    def put_bytes(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> str:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                os.fchmod(fh.fileno(), FILE_MODE)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return self.uri(key)

    def get_bytes(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def exists(self, key: str) -> bool:
        return self._path(key).exists()

    def list_keys(self, prefix: str) -> list[str]:
        folder = _folder(prefix)
        base = self.root / folder if folder else self.root
        if not base.exists():
            return []
        return sorted(
            str(p.relative_to(self.root).as_posix())
            for p in base.rglob("*")
            if p.is_file() and not p.name.startswith(".tmp-")
        )

    def uri(self, key: str) -> str:
        return str(self._path(key))


@contextmanager
def _outage_is_transient(action: str) -> Iterator[None]:
    """google-cloud-storage retries 429, 5xx and connection errors itself (for 120 s); what is still
    failing after that is an outage: :class:`StoreUnavailableError`. Refusals (403, 404) pass as they are."""
    import requests
    from google.api_core import exceptions as google_errors

    try:
        yield
    except (
        google_errors.TooManyRequests,
        google_errors.ServerError,
        google_errors.RetryError,
        requests.ConnectionError,
        requests.Timeout,
    ) as exc:
        raise StoreUnavailableError(
            f"object store: {action} failed after retries ({type(exc).__name__})"
        ) from exc


class GCSObjectStore:
    """A GCS bucket (``google.cloud.storage``); ``client`` comes from dagster-gcp's ``GCSResource``."""

    def __init__(self, client: Any, bucket: str, prefix: str = "") -> None:
        if not bucket or not bucket.strip():
            # google-cloud-storage fails on an empty name with an IndexError deep in its client
            raise ValueError(
                f"object store: GCS bucket name {bucket!r} is empty (NBA_ASSETS_GCS_BUCKET in prod)"
            )
        self.client = client
        self.bucket_name = bucket
        self.prefix = prefix.strip("/")

    def _name(self, key: str) -> str:
        _check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def _bucket(self) -> Any:
        return self.client.bucket(self.bucket_name)

    def put_bytes(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> str:
        with _outage_is_transient(f"writing {key}"):
            self._bucket().blob(self._name(key)).upload_from_string(data, content_type=content_type)
        return self.uri(key)

    def get_bytes(self, key: str) -> bytes:
        with _outage_is_transient(f"reading {key}"):
            return self._bucket().blob(self._name(key)).download_as_bytes()

    def exists(self, key: str) -> bool:
        with _outage_is_transient(f"looking up {key}"):
            return bool(self._bucket().blob(self._name(key)).exists())

    def list_keys(self, prefix: str) -> list[str]:
        # GCS matches prefixes as strings: "prod" would also match "prod_old/...", so the query always
        # ends at a folder boundary; names ending in "/" are console folder placeholders, not keys.
        folder = _folder(prefix)
        query = f"{self._name(folder)}/" if folder else (f"{self.prefix}/" if self.prefix else "")
        strip = len(self.prefix) + 1 if self.prefix else 0
        with _outage_is_transient(f"listing {prefix or '/'}"):
            blobs = list(self.client.list_blobs(self.bucket_name, prefix=query or None))
        return sorted(b.name[strip:] for b in blobs if not b.name.endswith("/"))

    def uri(self, key: str) -> str:
        return f"gs://{self.bucket_name}/{self._name(key)}"


CONTENT_TYPES = {
    "json": "application/json",
    "pdf": "application/pdf",
    "html": "text/html",
    "xml": "application/xml",
    "txt": "text/plain",
}


def payload_key(source: str, game_date: date | str, body: bytes, ext: str = "json") -> str:
    """``raw_payloads/<source>/<date>/<sha256>.<ext>``: content-addressed, never a URL or a key."""
    digest = hashlib.sha256(body).hexdigest()
    return f"raw_payloads/{source}/{game_date}/{digest}.{ext}"


def archive_payload(
    store: ObjectStore, source: str, game_date: date | str, body: bytes, ext: str = "json"
) -> str:
    """Store ``body`` before it is parsed; identical bodies map to the same key (idempotent)."""
    key = payload_key(source, game_date, body, ext)
    if not store.exists(key):
        store.put_bytes(key, body, CONTENT_TYPES.get(ext, "application/octet-stream"))
    return key
