"""The signature catalogue (top-level checks/signatures.yaml) and the matcher.

Patterns are Python regular expressions matched case-insensitively against each line after ANSI colour and
CR are removed, so timestamps, compose/BuildKit prefixes and kubectl columns in front of the text do not
matter. Named groups `node` and `image` capture the platforms a line names (the direction of a mismatch).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from kdoctor.data import data_dir
from kdoctor.errors import InputError
from kdoctor.vocabulary import TRANSLATORS, Emulator

ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07]*\x07")
MAX_LINE = 4096
# What a signature can implicate: an emulator that ran the code, no emulator at all (the kernel refused
# it), the registry (the pull failed), or a CPU feature the (real or emulated) CPU lacked.
IMPLICATES = (*TRANSLATORS, Emulator.NONE, "registry", "cpu")  # an emulator, or the pull, or the CPU itself
ROLES = ("cause", "supporting")
CONDITIONS = ("node_arch", "image_arch", "emulator")


@dataclass(frozen=True)
class Fix:
    text: str
    when: dict[str, tuple[str, ...]] = field(default_factory=dict)  # condition -> allowed values

    def applies(self, known: dict[str, str]) -> bool:
        """A conditional fix applies only when what it depends on is known and allowed."""
        return all(known.get(key, "unknown") in allowed for key, allowed in self.when.items())


@dataclass(frozen=True)
class Signature:
    id: str
    patterns: tuple[re.Pattern[str], ...]
    implicates: str
    meaning: str
    fixes: tuple[Fix, ...]
    source: str
    role: str = "cause"  # "supporting": raises confidence, explains nothing alone
    feature: str | None = None  # for implicates: cpu, the instruction-set feature the program needs
    assumes: dict[str, str] = field(default_factory=dict)  # direction this signature implies (node/image arch)


@dataclass(frozen=True)
class Match:
    signature: Signature
    evidence: str  # the first matching line, cleaned and trimmed
    where: str  # "logs (previous)", "status", "events"…
    lines: tuple[str, ...] = ()  # every matching line (at most a few)
    groups: dict[str, str] = field(default_factory=dict)  # named groups of the first match (node/image)


def _fixes(raw: Any, where: str) -> tuple[Fix, ...]:
    out = []
    for item in raw or ():
        if isinstance(item, str):
            out.append(Fix(item))
            continue
        when = item.get("when") or {}
        unknown = set(when) - set(CONDITIONS)
        if unknown:
            raise ValueError(f"{where}: fix condition {sorted(unknown)} is not one of {CONDITIONS}")
        out.append(Fix(str(item["text"]), {k: tuple(str(x) for x in _as_list(v)) for k, v in when.items()}))
    return tuple(out)


def _as_list(v: Any) -> list[Any]:
    return v if isinstance(v, list) else [v]


def _entry(entry: Any) -> Signature:
    sig = Signature(
        id=str(entry["id"]),
        patterns=tuple(re.compile(p, re.IGNORECASE) for p in entry["patterns"]),
        implicates=str(entry["implicates"]),
        meaning=str(entry["meaning"]),
        fixes=_fixes(entry.get("fixes"), str(entry["id"])),
        source=str(entry["source"]),
        role=str(entry.get("role") or "cause"),
        feature=str(entry["feature"]) if entry.get("feature") else None,
        assumes={str(k): str(v) for k, v in (entry.get("assumes") or {}).items()},
    )
    if sig.implicates not in IMPLICATES:
        raise ValueError(f"implicates {sig.implicates!r} is not one of {IMPLICATES}")
    if sig.role not in ROLES:
        raise ValueError(f"role {sig.role!r} is not one of {ROLES}")
    return sig


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
            out.append(_entry(entry))
        except (KeyError, TypeError, ValueError, AttributeError, re.error) as exc:
            raise InputError(str(path), f"entry {i}: {exc}", key=f"[{i}]") from None
    ids = [s.id for s in out]
    if len(ids) != len(set(ids)):
        raise InputError(str(path), "signature ids must be unique")
    return tuple(out)


def clean(line: str) -> str:
    return ANSI.sub("", line).replace("\r", "")[:MAX_LINE].strip()


MAX_LINES_PER_MATCH = 3


def match_text(text: str, where: str, signatures: tuple[Signature, ...] | None = None) -> list[Match]:
    """Every signature found in `text` (its first evidence lines), in catalogue order."""
    sigs = signatures or catalogue()
    first: dict[str, tuple[str, dict[str, str]]] = {}
    lines: dict[str, list[str]] = {}
    for raw_line in text.splitlines():
        line = clean(raw_line)
        if not line:
            continue
        for sig in sigs:
            seen = lines.get(sig.id)
            if seen is not None and len(seen) >= MAX_LINES_PER_MATCH:
                continue
            for pattern in sig.patterns:
                m = pattern.search(line)
                if m is None:
                    continue
                if sig.id not in first:
                    first[sig.id] = (line[:400], {k: v for k, v in m.groupdict().items() if v})
                if line[:400] not in lines.setdefault(sig.id, []):
                    lines[sig.id].append(line[:400])
                break
    return [Match(s, first[s.id][0], where, tuple(lines[s.id]), first[s.id][1]) for s in sigs if s.id in first]
