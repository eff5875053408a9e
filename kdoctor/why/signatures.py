"""The signature catalogue (top-level checks/signatures.yaml) and the matcher."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from kdoctor.data import data_dir
from kdoctor.errors import InputError

ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07]*\x07")
MAX_LINE = 4096


@dataclass(frozen=True)
class Signature:
    id: str
    patterns: tuple[re.Pattern[str], ...]
    implicates: str
    meaning: str
    fixes: tuple[str, ...]
    source: str


@dataclass(frozen=True)
class Match:
    signature: Signature
    evidence: str  # the matching line, cleaned and trimmed
    where: str  # "logs (previous)", "status", "events"…


@functools.cache
def catalogue(path: Path | None = None) -> tuple[Signature, ...]:
    path = path or data_dir("checks") / "signatures.yaml"
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(str(path), f"cannot read the signature catalogue: {exc}") from None
    out = []
    for i, entry in enumerate(raw or []):
        try:
            out.append(
                Signature(
                    id=str(entry["id"]),
                    patterns=tuple(re.compile(p) for p in entry["patterns"]),
                    implicates=str(entry["implicates"]),
                    meaning=str(entry["meaning"]),
                    fixes=tuple(str(f) for f in entry["fixes"]),
                    source=str(entry["source"]),
                )
            )
        except (KeyError, TypeError, re.error) as exc:
            raise InputError(str(path), f"entry {i}: {exc}", key=f"[{i}]") from None
    return tuple(out)


def clean(line: str) -> str:
    return ANSI.sub("", line)[:MAX_LINE].strip()


def match_text(text: str, where: str, signatures: tuple[Signature, ...] | None = None) -> list[Match]:
    """Every signature found in `text` (first evidence line each), in catalogue order."""
    sigs = signatures or catalogue()
    found: dict[str, Match] = {}
    for raw_line in text.splitlines():
        line = clean(raw_line)
        if not line:
            continue
        for sig in sigs:
            if sig.id not in found and any(p.search(line) for p in sig.patterns):
                found[sig.id] = Match(sig, line[:400], where)
    return [found[s.id] for s in sigs if s.id in found]
