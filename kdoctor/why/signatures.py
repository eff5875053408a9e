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
# it), the registry (the pull failed), a CPU feature the (real or emulated) CPU lacked, or `emulator`: foreign
# code ran under some emulator, which one the log does not say (other lines or the caller may).
IMPLICATES = (*TRANSLATORS, Emulator.NONE, "registry", "cpu", "emulator")
ROLES = ("cause", "supporting")
CONDITIONS = ("node_arch", "image_arch", "emulator")
# What a cause may need besides its lines before it explains anything: `foreign` — the failing code was of
# another architecture than the machine (the directions known and different, or the log shows an emulator).
NEEDS = ("foreign",)


@dataclass(frozen=True)
class Fix:
    text: str
    when: dict[str, tuple[str, ...]] = field(default_factory=dict)  # condition -> allowed values

    def applies(self, known: dict[str, str]) -> bool:
        """A conditional fix applies only when what it depends on is known and allowed."""
        return all(known.get(key, "unknown") in allowed for key, allowed in self.when.items())


@dataclass(frozen=True)
class Window:
    """Evidence spread over a few lines: a line for every pattern, all within `lines` of the first one (anywhere
    in the text when `lines` is None)."""

    patterns: tuple[re.Pattern[str], ...]
    lines: int | None = None
    # "buildkit-step": tried only on the lines of BuildKit's failing step (kdoctor/why/buildkit.py), where a step
    # header and its exit code are tied by the step number, not by nearness; None: the whole text.
    scope: str | None = None
    # A line pattern naming whose output a line is (dpkg's `Setting up X`, `Processing triggers for X`): the first
    # pattern's line belongs to the nearest such line before it (or the first after it, dpkg's `error processing
    # package X`), and that line must be the one the window's second pattern names.
    owner: re.Pattern[str] | None = None


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
    windows: tuple[Window, ...] = ()  # multi-line evidence, each window an alternative to a single-line pattern
    needs: tuple[str, ...] = ()  # conditions (NEEDS) a cause must meet before it explains anything


@dataclass(frozen=True)
class Match:
    signature: Signature
    evidence: str  # the first matching line, cleaned and trimmed
    where: str  # "logs (previous)", "status", "events"…
    lines: tuple[str, ...] = ()  # every matching line (at most a few)
    groups: dict[str, str] = field(default_factory=dict)  # named groups of the first match (node/image)
    specificity: int = 1  # how many lines the evidence combines: a window's match is more specific than a line's


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


SCOPES = ("buildkit-step",)


def _windows(raw: Any) -> tuple[Window, ...]:
    out = []
    for w in raw or ():
        pats = tuple(re.compile(x, re.IGNORECASE) for x in w["all"])
        if len(pats) < 2:
            raise ValueError("a window combines at least two patterns (one line is a pattern)")
        lines = w.get("lines")
        if lines is not None and (not isinstance(lines, int) or lines < 1):
            raise ValueError(f"window lines {lines!r} is not a positive number")
        scope = w.get("scope")
        if scope not in (None, *SCOPES):
            raise ValueError(f"window scope {scope!r} is not one of {SCOPES}")
        owner = re.compile(w["owner"], re.IGNORECASE) if w.get("owner") else None
        out.append(Window(pats, lines, scope, owner))
    return tuple(out)


def _entry(entry: Any) -> Signature:
    sig = Signature(
        id=str(entry["id"]),
        patterns=tuple(re.compile(p, re.IGNORECASE) for p in entry.get("patterns") or ()),
        implicates=str(entry["implicates"]),
        meaning=str(entry["meaning"]),
        fixes=_fixes(entry.get("fixes"), str(entry["id"])),
        source=str(entry["source"]),
        role=str(entry.get("role") or "cause"),
        feature=str(entry["feature"]) if entry.get("feature") else None,
        assumes={str(k): str(v) for k, v in (entry.get("assumes") or {}).items()},
        windows=_windows(entry.get("windows")),
        needs=tuple(str(n) for n in entry.get("needs") or ()),
    )
    if not sig.patterns and not sig.windows:
        raise ValueError("a signature needs patterns or windows")
    if set(sig.needs) - set(NEEDS):
        raise ValueError(f"needs {sorted(set(sig.needs) - set(NEEDS))} is not one of {NEEDS}")
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
    """Every signature found in `text` (its first evidence lines), in catalogue order. A signature's windows are
    tried too; a window that matches makes the match as specific as the lines it combines."""
    sigs = signatures or catalogue()
    cleaned = [c for c in (clean(raw) for raw in text.splitlines()) if c]
    first: dict[str, tuple[str, dict[str, str]]] = {}
    lines: dict[str, list[str]] = {}
    for line in cleaned:
        for sig in sigs:
            seen = lines.get(sig.id)
            if seen is not None and len(seen) >= MAX_LINES_PER_MATCH:
                continue
            for pattern in sig.patterns:
                m = pattern.search(line)
                if m is None:
                    continue
                if sig.id not in first:
                    first[sig.id] = (line[:400], _groups(m))
                if line[:400] not in lines.setdefault(sig.id, []):
                    lines[sig.id].append(line[:400])
                break
    step_lines: list[str] | None = None
    if any(w.scope for s in sigs for w in s.windows):
        from kdoctor.why.buildkit import failing_step

        step = failing_step(cleaned)
        step_lines = list(step.lines) if step else []

    def lines_for(w: Window) -> list[str]:
        return cleaned if w.scope is None else step_lines or []

    out = []
    for s in sigs:
        hit = next(((w, h) for w in s.windows if (h := _window(w, lines_for(w))) is not None), None)
        if hit is not None:  # the combined evidence is what explains; a single line alone is less specific
            window, (found, groups) = hit
            extra = [x for x in lines.get(s.id, []) if x not in found]
            evidence = tuple([*found, *extra][: max(MAX_LINES_PER_MATCH, len(found))])
            merged = {**(first[s.id][1] if s.id in first else {}), **groups}
            out.append(Match(s, found[0], where, evidence, merged, specificity=len(window.patterns)))
        elif s.id in first:
            out.append(Match(s, first[s.id][0], where, tuple(lines[s.id]), first[s.id][1]))
    return out


def _groups(m: re.Match[str]) -> dict[str, str]:
    return {k: v for k, v in m.groupdict().items() if v}


def _owned(w: Window, lines: list[str], i: int) -> bool:
    """Whether the line at `i` belongs to the step the window's second pattern names (see Window.owner)."""
    assert w.owner is not None
    before = next((lines[j] for j in range(i - 1, -1, -1) if w.owner.search(lines[j])), None)
    after = next((lines[j] for j in range(i + 1, len(lines)) if w.owner.search(lines[j])), None)
    return any(x is not None and w.patterns[1].search(x) for x in (before, after))


def _window(w: Window, lines: list[str]) -> tuple[list[str], dict[str, str]] | None:
    """The lines (and named groups) of the first place where every pattern of `w` matches within its span."""
    hits: list[list[tuple[int, re.Match[str]]]] = []
    for pattern in w.patterns:
        found = [(i, m) for i, line in enumerate(lines) if (m := pattern.search(line)) is not None]
        if not found:
            return None
        hits.append(found)
    for i, m0 in hits[0]:
        chosen = [(i, m0)]
        for others in hits[1:]:
            near = [(j, m) for j, m in others if w.lines is None or abs(j - i) <= w.lines]
            if not near:
                break
            chosen.append(min(near, key=lambda jm: abs(jm[0] - i)))
        else:
            if w.owner is not None and not _owned(w, lines, i):
                continue
            groups: dict[str, str] = {}
            for _, m in chosen:
                groups.update({k: v for k, v in _groups(m).items() if k not in groups})
            return [lines[j][:400] for j, _ in sorted(chosen, key=lambda jm: jm[0])], groups
    return None
