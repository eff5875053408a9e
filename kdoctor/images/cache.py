"""An on-disk cache keyed by digest (immutable), plus tag -> digest notes that are re-validated.

Layout under platformdirs' user cache dir (or $KDOCTOR_CACHE_DIR):
  blobs/sha256/<hex>        manifests and configs, verified again on read
  tags/<sha256 of ref>.json {"digest", "media_type", "checked"}
  analysis/<sha256 of key>.json  entrypoint analyses, keyed by config digest + argv
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any


def default_cache_dir() -> Path:
    env = os.environ.get("KDOCTOR_CACHE_DIR")
    if env:
        return Path(env)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("kdoctor")) / "registry-v1"


def _atomic_write(path: Path, data: bytes) -> None:
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

    def _blob_path(self, digest: str) -> Path | None:
        algo, _, hexd = digest.partition(":")
        if algo != "sha256" or len(hexd) != 64 or not all(c in "0123456789abcdef" for c in hexd):
            return None
        return self.root / "blobs" / "sha256" / hexd

    def get_blob(self, digest: str) -> bytes | None:
        if not self.enabled:
            return None
        path = self._blob_path(digest)
        if path is None or not path.is_file():
            return None
        try:
            data = path.read_bytes()
        except OSError:
            return None
        if f"sha256:{hashlib.sha256(data).hexdigest()}" != digest:
            return None  # corrupted on disk: refetch
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

    def get_tag(self, ref: str) -> dict[str, Any] | None:
        return self.get_json("tags", ref)

    def put_tag(self, ref: str, digest: str, media_type: str) -> None:
        self.put_json("tags", ref, {"digest": digest, "media_type": media_type, "checked": time.time()})
