"""Verdict files (issue 24): what one run learned, so that a teammate's run (or a run with no network) need not ask
the registries again.

A verdict file holds facts, not opinions: the manifests and configs a run read (keyed by digest, verified on
read), the tag -> digest observations with the time each was made, and the entrypoint analyses (keyed by manifest
digest and command). A reader judges from these facts with its own catalogue, so an answer judged by an older
kdoctor is re-judged, never trusted blindly; the verdicts the writer reached are kept beside them for people
(`verdicts`), and are not read back. A tag is trusted for `--max-age` seconds from its observation, else
re-checked with one HEAD (free on Docker Hub); a tag that moved is read again.

What a verdict file can vouch for: what a registry served for a digest (the digest proves the bytes) and what kdoctor
found inside. What it cannot: that a tag still points where it did (hence the HEAD), or who wrote the file (a
teammate or an attacker can claim a tag points anywhere; the digest is still checked against what the registry
serves unless --offline). It never holds credentials: it is built from registry answers and kdoctor's own
analyses only.

Format (JSON): {"schema": "kdoctor/verdicts/v1", "kdoctor_version", "written", "catalogue", "blobs": {digest:
base64}, "tags": {ref: {digest, media_type, checked}}, "analyses": {key: analysis}, "verdicts": [...]}
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kdoctor.images.registry.notes import ANALYSES, TAG_LISTS, TAGS

SCHEMA = "kdoctor/verdicts/v1"
MAX_FILE = 256 << 20  # a verdict file larger than this is not read
OFFLINE = "offline: not in the cache or the verdict files"


@dataclass
class VerdictSources:
    """The verdict files read for a run, merged: consulted before the local cache."""

    blobs: dict[str, bytes] = field(default_factory=dict)
    notes: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)  # notes file -> key -> note
    origin: dict[str, str] = field(default_factory=dict)  # digest -> the source that held it
    sources: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # per file and per entry: what was ignored, and why

    def blob(self, digest: str) -> bytes | None:
        return self.blobs.get(digest)

    def note(self, name: str, key: str) -> dict[str, Any] | None:
        return self.notes.get(name, {}).get(key)


def _valid_digest(d: object) -> bool:
    return isinstance(d, str) and d.startswith("sha256:") and len(d) == 71


def read(paths: list[str]) -> VerdictSources:
    """Every file given (a directory: its *.json files). A bad file or a bad entry is reported in `errors` and
    skipped; nothing in a file is executed, and its blobs must match their digests."""

    out = VerdictSources()
    files: list[Path] = []
    for p in paths:
        path = Path(p)
        files += sorted(path.glob("*.json")) if path.is_dir() else [path]
    for f in files:
        where = str(f)
        try:
            if f.stat().st_size > MAX_FILE:
                out.errors.append(f"{where}: larger than {MAX_FILE >> 20} MiB: not read")
                continue
            doc = json.loads(f.read_text(encoding="utf-8"))
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            out.errors.append(f"{where}: not a readable verdict file ({type(exc).__name__}: {exc})"[:300])
            continue
        if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
            out.errors.append(f"{where}: not a verdict file (schema is not {SCHEMA})")
            continue
        out.sources.append(where)
        for digest, data in (doc.get("blobs") or {}).items() if isinstance(doc.get("blobs"), dict) else ():
            try:
                raw = base64.b64decode(str(data), validate=True)
            except (binascii.Error, ValueError):
                out.errors.append(f"{where}: blobs[{digest!r}]: not base64: ignored")
                continue
            if not _valid_digest(digest) or f"sha256:{hashlib.sha256(raw).hexdigest()}" != digest:
                out.errors.append(f"{where}: blobs[{digest!r}]: the bytes do not match the digest: ignored")
                continue
            out.blobs.setdefault(digest, raw)
            out.origin.setdefault(digest, where)
        for name, key_field in ((TAGS, "tags"), (ANALYSES, "analyses"), (TAG_LISTS, "tag_lists")):
            entries = doc.get(key_field)
            if not isinstance(entries, dict):
                continue
            merged = out.notes.setdefault(name, {})
            for key, note in entries.items():
                if not isinstance(note, dict):
                    out.errors.append(f"{where}: {key_field}[{key!r}]: not a mapping: ignored")
                    continue
                if name == TAGS and not (
                    _valid_digest(note.get("digest")) and isinstance(note.get("checked"), int | float)
                ):
                    out.errors.append(f"{where}: tags[{key!r}]: needs a sha256 digest and a time: ignored")
                    continue
                old = merged.get(key)
                if old is None or float(note.get("checked", 0)) > float(old.get("checked", 0)):
                    merged[key] = note  # the newest observation of a tag wins
    return out


def catalogue_version() -> str:
    """A digest of the catalogues that judge (risks, signatures, build rules, CPU features)."""
    from kdoctor.data import data_dir

    h = hashlib.sha256()
    for name in ("risks.yaml", "signatures.yaml", "build-risks.yaml", "cpu-features.yaml"):
        path = data_dir("checks") / name
        if path.exists():
            h.update(path.read_bytes())
    return "sha256:" + h.hexdigest()


def document(blobs: dict[str, bytes], notes: dict[str, dict[str, dict[str, Any]]], verdicts: list[dict[str, Any]],
             version: str) -> dict[str, Any]:  # fmt: skip
    return {
        "schema": SCHEMA,
        "kdoctor_version": version,
        "written": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "catalogue": catalogue_version(),
        "blobs": {d: base64.b64encode(b).decode() for d, b in sorted(blobs.items())},
        "tags": dict(sorted(notes.get(TAGS, {}).items())),
        "analyses": dict(sorted(notes.get(ANALYSES, {}).items())),
        "tag_lists": dict(sorted(notes.get(TAG_LISTS, {}).items())),
        "verdicts": verdicts,
    }
