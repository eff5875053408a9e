"""Build steps known to die under an emulator (checks/build-risks.yaml, issue 23): the rules, and which of them a
RUN step of an emulated stage matches. Where a stage runs is decided in kdoctor/images/builds.py."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

import yaml

from kdoctor.data import data_dir
from kdoctor.versions import parse as parse_version


@dataclass(frozen=True)
class BuildRule:
    id: str
    match: re.Pattern[str]
    emulators: tuple[str, ...]
    message: str
    signatures: tuple[str, ...]
    fixes: tuple[str, ...]
    sources: tuple[str, ...]
    go_before: str | None = None


@functools.cache
def build_rules() -> tuple[BuildRule, ...]:
    doc = yaml.safe_load((data_dir("checks") / "build-risks.yaml").read_text(encoding="utf-8"))
    return tuple(
        BuildRule(
            id=str(r["id"]),
            match=re.compile(str(r["match"]), re.IGNORECASE),
            emulators=tuple(r.get("emulators") or ()),
            message=str(r["message"]),
            signatures=tuple(r.get("signatures") or ()),
            fixes=tuple(r.get("fixes") or ()),
            sources=tuple(r.get("sources") or ()),
            go_before=str(r["go_before"]) if r.get("go_before") else None,
        )
        for r in doc["rules"]
    )


@dataclass
class StepRisk:
    line: int
    command: str
    rule: str
    message: str
    fixes: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"line": self.line, "command": self.command, "rule": self.rule, "message": self.message,
                "fixes": list(self.fixes)}  # fmt: skip


def _go_version(ref: str | None) -> tuple[int, int, int] | None:
    """The Go version a `golang:<tag>` base names (golang:1.22-alpine -> 1.22.0); None for anything else."""
    if not ref:
        return None
    m = re.match(r"^(?:[^/]+/)*golang:(\d+\.\d+(?:\.\d+)?)", ref)
    return parse_version(m.group(1)) if m else None


def step_risks(line: int, command: str, base_ref: str | None, emulator: str) -> list[StepRisk]:
    """The rules a RUN step of an emulated stage matches, under `emulator` (an unknown one: every rule)."""
    go = _go_version(base_ref)
    out = []
    for rule in build_rules():
        if emulator not in rule.emulators and emulator not in ("unknown", ""):
            continue
        if rule.go_before and go is not None and go >= (parse_version(rule.go_before) or (0, 0, 0)):
            continue
        if rule.match.search(command):
            short = command if len(command) <= 100 else command[:99] + "…"
            out.append(StepRisk(line, short, rule.id, rule.message, rule.fixes))
    return out
