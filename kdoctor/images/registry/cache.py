"""An on-disk cache keyed by digest (immutable), plus tag -> digest notes that are re-validated.

Layout under platformdirs' user cache dir (or $KDOCTOR_CACHE_DIR):
  blobs/sha256/<hex>        manifests and configs, verified again on read
  tags.json                 {ref: {"digest", "media_type", "checked"}}
  analyses.json             {key: entrypoint analysis}, keyed by manifest digest + command + args (analyse.py)

(An older layout kept one file per analysis under analysis/; it is no longer read.)
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kdoctor.images.registry.notes import ANALYSES, TAG_LISTS, TAGS

__all__ = ["ANALYSES", "TAGS", "TAG_LISTS", "Cache", "default_cache_dir"]

if TYPE_CHECKING:
    from kdoctor.images.registry.verdicts import VerdictSources

MEMO_MAX = 256 << 10
HEX = frozenset("0123456789abcdef")
# Entries a notes file keeps, the most recently written: a dropped tag note costs a GET, a dropped analysis a
# layer walk; an analysis is ~0.5 KB, so a full analyses.json is ~10 MB, read once by a run that needs one.
NOTES_MAX = 20_000


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
    def __init__(
        self, root: Path | None = None, *, enabled: bool = True, overlay: VerdictSources | None = None,
        record: bool = False,
    ):  # fmt: skip
        """`overlay`: verdict files, consulted before the disk (issue 24). `record`: remember every blob and note
        this run reads or writes, for --write-verdicts."""
        self.root = root or default_cache_dir()
        self.enabled = enabled
        self.overlay = overlay
        self.record = record
        self.seen_blobs: dict[str, bytes] = {}
        self.seen_notes: dict[str, dict[str, dict[str, Any]]] = {}
        self.from_overlay: set[str] = set()  # digests answered by a verdict file
        self._lock = threading.Lock()
        self._notes: dict[str, dict[str, dict[str, Any]]] = {}  # notes file -> {key: note}, read once per run
        self._dirty: set[str] = set()
        self._mem: dict[str, bytes] = {}

    def _blob_path(self, digest: str) -> Path | None:
        algo, _, hexd = digest.partition(":")
        if algo != "sha256" or len(hexd) != 64 or not HEX.issuperset(hexd):
            return None
        return self.root / "blobs" / "sha256" / hexd

    def _seen(self, digest: str, data: bytes) -> None:
        if self.record:
            with self._lock:
                self.seen_blobs[digest] = data

    def get_blob(self, digest: str) -> bytes | None:
        if self.overlay is not None:
            shared = self.overlay.blob(digest)
            if shared is not None:
                self.from_overlay.add(digest)
                self._seen(digest, shared)
                return shared
        data = self._disk_blob(digest)
        if data is not None:
            self._seen(digest, data)
        return data

    def _disk_blob(self, digest: str) -> bytes | None:
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
        self._seen(digest, data)
        path = self._blob_path(digest)
        if self.enabled and path is not None and not path.exists():
            with contextlib.suppress(OSError):  # a read-only or full cache dir must not fail the scan
                _atomic_write(path, data)

    # Notes live in one file per kind, read once and written once per run: a file per tag (or per analysis)
    # cost more than the registry round trip on a cold run, and a warm --deep run on loopback spent a third of
    # its time reading them from 48 threads. Two runs writing at once lose some notes; that only costs a request.
    def _file(self, name: str) -> dict[str, dict[str, Any]]:
        with self._lock:
            notes = self._notes.get(name)
            if notes is None:
                notes = self._notes[name] = {}
                if self.enabled:
                    try:
                        data = json.loads((self.root / name).read_text(encoding="utf-8"))
                        if isinstance(data, dict):
                            notes.update((k, v) for k, v in data.items() if isinstance(v, dict))
                    except (OSError, ValueError, UnicodeDecodeError):
                        pass
            return notes

    def get_note(self, name: str, key: str) -> dict[str, Any] | None:
        mine = self._file(name).get(key)
        shared = self.overlay.note(name, key) if self.overlay is not None else None
        # The newer observation wins (a tag's `checked` time); an analysis is the same fact from either.
        note = (
            shared
            if shared is not None and (mine is None or shared.get("checked", 0) > mine.get("checked", 0))
            else mine
        )
        if note is not None and self.record:
            with self._lock:
                self.seen_notes.setdefault(name, {})[key] = note
        return note

    def put_note(self, name: str, key: str, note: dict[str, Any]) -> None:
        if self.record:
            with self._lock:
                self.seen_notes.setdefault(name, {})[key] = note
        notes = self._file(name)
        with self._lock:
            notes.pop(key, None)  # written again: it moves to the end, among the ones kept
            notes[key] = note
            self._dirty.add(name)

    def get_tag(self, ref: str) -> dict[str, Any] | None:
        return self.get_note(TAGS, ref)

    def put_tag(self, ref: str, digest: str, media_type: str) -> None:
        self.put_note(TAGS, ref, {"digest": digest, "media_type": media_type, "checked": time.time()})

    def flush(self) -> None:
        """Write the notes that changed (called once at the end of a scan)."""
        with self._lock:
            if not self.enabled:
                return
            for name in sorted(self._dirty):
                notes = self._notes[name]
                keep = dict(list(notes.items())[-NOTES_MAX:]) if len(notes) > NOTES_MAX else notes
                with contextlib.suppress(OSError):  # a read-only or full cache dir must not fail the scan
                    _atomic_write(self.root / name, json.dumps(keep).encode())
            self._dirty.clear()
