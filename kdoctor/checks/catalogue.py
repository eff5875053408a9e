"""The check catalogue and the registry of check functions kept in step with it.

The catalogue (top-level ``checks/KDnnn.yaml``) holds each check's words: title, category,
default severity, rationale, fix and tunable thresholds. The code (``kdoctor/checks/<category>.py``)
holds only the logic; a check's id names its module: KD1xx host, KD2xx tools, KD3xx engine,
KD4xx emulation, KD5xx driver, KD6xx resources, KD7xx kubernetes, KD8xx images.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from kdoctor.data import data_dir
from kdoctor.errors import InputError
from kdoctor.facts.model import Facts
from kdoctor.report.model import Category, Finding, Severity

ID_PREFIX_CATEGORY = {
    "1": Category.HOST,
    "2": Category.TOOLS,
    "3": Category.ENGINE,
    "4": Category.EMULATION,
    "5": Category.DRIVER,
    "6": Category.RESOURCES,
    "7": Category.KUBERNETES,
    "8": Category.IMAGES,
}
REQUIRED_KEYS = ("id", "title", "category", "severity", "rationale", "fix")


@dataclass(frozen=True)
class Entry:
    """A check's catalogue entry."""

    id: str
    title: str
    category: Category
    severity: Severity
    rationale: str
    fix: str
    commands: tuple[str, ...] = ()
    thresholds: dict[str, Any] = field(default_factory=dict)
    sources: tuple[str, ...] = ()
    ok: str = ""
    # When the probe a check needs was denied ("forbidden"): None = skipped like any failed probe; a severity
    # when the denial itself is worth telling (see run.not_looked).
    on_denied: Severity | None = None


class Ctx:
    """Handed to a check: builds findings that carry the catalogue's words."""

    def __init__(self, entry: Entry):
        self.entry = entry

    def threshold(self, key: str) -> Any:
        return self.entry.thresholds[key]

    def problem(
        self,
        message: str,
        *,
        subject: str | None = None,
        severity: Severity | None = None,
        fix: str | None = None,
        commands: Iterable[str] | None = None,
        data: dict[str, Any] | None = None,
    ) -> Finding:
        e = self.entry
        return Finding(
            id=e.id,
            category=e.category,
            severity=severity or e.severity,
            title=e.title,
            message=message,
            why=e.rationale,
            fix=fix if fix is not None else e.fix,
            commands=tuple(commands) if commands is not None else e.commands,
            subject=subject,
            data=data or {},
        )

    def ok(
        self, message: str | None = None, *, subject: str | None = None, data: dict[str, Any] | None = None
    ) -> Finding:
        e = self.entry
        return Finding(
            id=e.id,
            category=e.category,
            severity=Severity.OK,
            title=e.title,
            message=message or e.ok or e.title,
            subject=subject,
            data=data or {},
        )

    def info(self, message: str, *, subject: str | None = None, data: dict[str, Any] | None = None) -> Finding:
        return self.problem(message, subject=subject, severity=Severity.INFO, data=data)


CheckFn = Callable[[Facts, Ctx], Iterable[Finding]]


@dataclass(frozen=True)
class CheckSpec:
    id: str
    fn: CheckFn
    needs: tuple[str, ...]
    module: str


REGISTRY: dict[str, CheckSpec] = {}


def check(check_id: str, *, needs: tuple[str, ...] = ()) -> Callable[[CheckFn], CheckFn]:
    """Register a check. ``needs`` names the probes whose facts it reads."""

    def deco(fn: CheckFn) -> CheckFn:
        if check_id in REGISTRY:
            raise RuntimeError(f"check id {check_id} registered twice")
        REGISTRY[check_id] = CheckSpec(check_id, fn, needs, fn.__module__)
        return fn

    return deco


def _entry_from(path: Path, raw: Any) -> Entry:
    src = str(path)
    if not isinstance(raw, dict):
        raise InputError(src, "a check entry must be a mapping")
    for key in REQUIRED_KEYS:
        if key not in raw:
            raise InputError(src, "missing required key", key=key)
    try:
        category = Category(raw["category"])
    except ValueError:
        raise InputError(
            src,
            f"unknown category {raw['category']!r}; allowed: {', '.join(c.value for c in Category)}",
            key="category",
        ) from None
    try:
        severity = Severity(raw["severity"])
    except ValueError:
        raise InputError(src, f"unknown severity {raw['severity']!r}", key="severity") from None
    on_denied = None
    if raw.get("on_denied") is not None:
        try:
            on_denied = Severity(raw["on_denied"])
        except ValueError:
            raise InputError(src, f"unknown severity {raw['on_denied']!r}", key="on_denied") from None
    return Entry(
        id=str(raw["id"]),
        title=str(raw["title"]).strip(),
        category=category,
        severity=severity,
        rationale=str(raw["rationale"]).strip(),
        fix=str(raw["fix"]).strip(),
        commands=tuple(str(c) for c in raw.get("commands") or ()),
        thresholds=dict(raw.get("thresholds") or {}),
        sources=tuple(str(s) for s in raw.get("sources") or ()),
        ok=str(raw.get("ok") or "").strip(),
        on_denied=on_denied,
    )


@functools.cache
def catalogue(directory: Path | None = None) -> dict[str, Entry]:
    directory = directory or data_dir("checks")
    out: dict[str, Entry] = {}
    for path in sorted(directory.glob("KD*.yaml")):
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            line = getattr(getattr(exc, "problem_mark", None), "line", None)
            raise InputError(
                str(path), f"invalid YAML: {getattr(exc, 'problem', exc)}", line=None if line is None else line + 1
            ) from None
        entry = _entry_from(path, raw)
        if entry.id != path.stem:
            raise InputError(str(path), f"id {entry.id!r} does not match the file name", key="id")
        out[entry.id] = entry
    return out
