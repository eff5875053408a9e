"""An on-disk cache keyed by digest (immutable), plus tag -> digest notes that are re-validated.

Layout under platformdirs' user cache dir (or $KDOCTOR_CACHE_DIR):
  blobs/sha256/<hex>        manifests and configs, verified again on read
  tags.json                 {ref: {"digest", "media_type", "checked"}}
  analysis/<sha256 of key>.json  entrypoint analyses, keyed by config digest + argv
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
import time
from pathlib import Path
from typing import Any

MEMO_MAX = 256 << 10
HEX = frozenset("0123456789abcdef")


def default_cache_dir() -> Path:
    env = os.environ.get("KDOCTOR_CACHE_DIR")
    if env:
        return Path(env)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("kdoctor")) / "registry-v1"


def _atomic_write(path: Path, data: bytes) -> None:
    import tempfile

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


class Cache:
    def __init__(self, root: Path | None = None, *, enabled: bool = True):
        self.root = root or default_cache_dir()
        self.enabled = enabled
        self._lock = threading.Lock()
        self._tag_notes: dict[str, dict[str, Any]] | None = None
        self._dirty = False
        self._mem: dict[str, bytes] = {}

    def _blob_path(self, digest: str) -> Path | None:
        algo, _, hexd = digest.partition(":")
        if algo != "sha256" or len(hexd) != 64 or not HEX.issuperset(hexd):
            return None
        return self.root / "blobs" / "sha256" / hexd

    def get_blob(self, digest: str) -> bytes | None:
        if not self.enabled:
            return None
        hit = self._mem.get(digest)
        if hit is not None:
            return hit
        path = self._blob_path(digest)
        if path is None:
            return None
        try:  # one open, no stat first: a warm --deep scan reads three blobs per image from 48 threads
            data = path.read_bytes()
        except OSError:  # missing, a directory, unreadable: fetch it again
            return None
        if f"sha256:{hashlib.sha256(data).hexdigest()}" != digest:
            return None  # corrupted on disk: refetch
        if len(data) <= MEMO_MAX:
            self._mem[digest] = data  # many tags share one index or config: read and verify it once per run
        return data

    def put_blob(self, digest: str, data: bytes) -> None:
        path = self._blob_path(digest)
        if self.enabled and path is not None and not path.exists():
            with contextlib.suppress(OSError):  # a read-only or full cache dir must not fail the scan
                _atomic_write(path, data)

    def _key_path(self, kind: str, key: str) -> Path:
        return self.root / kind / f"{hashlib.sha256(key.encode()).hexdigest()}.json"

    def get_json(self, kind: str, key: str) -> dict[str, Any] | None:
        if not self.enabled:
            return None
        path = self._key_path(kind, key)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError, UnicodeDecodeError):
            return None
        return data if isinstance(data, dict) and data.get("key") == key else None

    def put_json(self, kind: str, key: str, doc: dict[str, Any]) -> None:
        if not self.enabled:
            return
        with contextlib.suppress(OSError):
            _atomic_write(self._key_path(kind, key), json.dumps({**doc, "key": key}).encode())

    # Tag notes live in one file, read once and written once per run: per-tag files cost more than the
    # registry round trip on a cold run. Two runs writing at once lose some notes; that only costs a GET.
    def _tags(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            if self._tag_notes is None:
                self._tag_notes = {}
                if self.enabled:
                    try:
                        data = json.loads((self.root / "tags.json").read_text(encoding="utf-8"))
                        if isinstance(data, dict):
                            self._tag_notes = {k: v for k, v in data.items() if isinstance(v, dict)}
                    except (OSError, ValueError, UnicodeDecodeError):
                        pass
            return self._tag_notes

    def get_tag(self, ref: str) -> dict[str, Any] | None:
        return self._tags().get(ref)

    def put_tag(self, ref: str, digest: str, media_type: str) -> None:
        notes = self._tags()
        with self._lock:
            notes[ref] = {"digest": digest, "media_type": media_type, "checked": time.time()}
            self._dirty = True

    def flush(self) -> None:
        """Write the tag notes (called once at the end of a scan)."""
        with self._lock:
            if not self.enabled or not self._dirty or self._tag_notes is None:
                return
            with contextlib.suppress(OSError):
                _atomic_write(self.root / "tags.json", json.dumps(self._tag_notes).encode())
            self._dirty = False
