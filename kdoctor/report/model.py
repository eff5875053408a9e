"""Findings: what a check concluded, with the why and the fix. Public JSON contract lives here."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    OK = "ok"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"
    SKIPPED = "skipped"


class Category(StrEnum):
    HOST = "host"
    TOOLS = "tools"
    ENGINE = "engine"
    EMULATION = "emulation"
    DRIVER = "driver"
    RESOURCES = "resources"
    KUBERNETES = "kubernetes"
    IMAGES = "images"


CATEGORY_TITLES = {
    Category.HOST: "Host",
    Category.TOOLS: "Tools",
    Category.ENGINE: "Container engine",
    Category.EMULATION: "amd64 emulation",
    Category.DRIVER: "minikube driver",
    Category.RESOURCES: "Resources",
    Category.KUBERNETES: "Kubernetes",
    Category.IMAGES: "Images",
}

RANK = {Severity.OK: 0, Severity.SKIPPED: 1, Severity.INFO: 1, Severity.WARNING: 2, Severity.ERROR: 3}


@dataclass(frozen=True)
class Finding:
    id: str
    category: Category
    severity: Severity
    message: str
    title: str = ""
    why: str = ""
    fix: str = ""
    commands: tuple[str, ...] = ()
    subject: str | None = None  # which profile/cluster/tool the finding is about
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "category": self.category.value,
            "severity": self.severity.value,
            "title": self.title,
            "message": self.message,
            "why": self.why,
            "fix": self.fix,
            "commands": list(self.commands),
            "subject": self.subject,
            "data": self.data,
        }


@dataclass
class Report:
    findings: list[Finding]
    probes: dict[str, dict[str, Any]] = field(default_factory=dict)
    incomplete: bool = False  # a probe failed (not merely absent) and some checks were skipped
    duration_ms: int = 0

    def count(self, severity: Severity) -> int:
        return sum(1 for f in self.findings if f.severity is severity)

    def exit_code(self, fail_on: str = "error") -> int:
        from kdoctor.errors import ExitCode

        if fail_on == "never":
            return ExitCode.OK
        if self.count(Severity.ERROR):
            return ExitCode.FINDINGS
        if fail_on == "warning" and self.count(Severity.WARNING):
            return ExitCode.FINDINGS
        if self.incomplete:
            return ExitCode.INCOMPLETE
        return ExitCode.OK
