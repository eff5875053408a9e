"""The input of a scan: an image as a workload uses it, and what reading the inputs noted on the way.

Every image source (sources.py, kube.py, compose.py) produces these.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Origin:
    """Where one use of an image was found."""

    file: str  # the file given (or found in a directory), "<stdin>", "argument", "context NAME"
    workload: str = ""  # "Deployment/web", "service web", "" for an argument
    container: str | None = None
    path: str = ""  # "spec.template.spec.containers[0].image", "services.web.image", "FROM"
    line: int | None = None  # 1-based line of the scalar naming the image, in `written_in` (or `file`)
    column: int | None = None  # 1-based column of that scalar (a quoted scalar starts at its quote)
    written_in: str | None = None  # the file holding that line when it is not `file` (Compose extends/include)

    def text(self) -> str:
        where = f"{self.written_in or self.file}:{self.line}" if self.line else self.file
        what = " ".join(x for x in (self.workload, f"container {self.container}" if self.container else "") if x)
        return f"{where}: {what}" + (f" ({self.path})" if self.path else "") if what or self.path else where

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "workload": self.workload,
            "container": self.container,
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "written_in": self.written_in,
        }


@dataclass
class ImageUse:
    """An image as a workload uses it: the reference as written, and the process it is asked to run."""

    ref: str
    command: list[str] | None = None
    args: list[str] | None = None
    platform: str | None = None  # a Compose `platform:` override
    sources: list[str] = field(default_factory=list)
    origins: list[Origin] = field(default_factory=list)
    unset: list[str] = field(default_factory=list)  # Compose variables in the image that are unset, no default
    written: str | None = None  # the reference as written, when a variable in it is unset (shown instead of `ref`)
    problem: str | None = None  # why this reference is not looked up (unrendered template, empty image)
    # How to give an unset variable a value, said by the source that knows: Compose's environment and .env files,
    # a Dockerfile's --build-arg.
    unset_hint: str = "set it in the environment, the .env file or an --env-file"

    def __post_init__(self) -> None:
        if not self.sources and self.origins:
            self.sources = [o.text() for o in self.origins]

    def key(self) -> tuple[str, tuple[str, ...] | None, tuple[str, ...] | None, str | None]:
        return (
            self.ref,
            tuple(self.command) if self.command is not None else None,
            tuple(self.args) if self.args is not None else None,
            self.platform,
        )

    def scan_key(self) -> tuple[object, ...]:
        """What makes two uses one lookup: the same process of the same image, and the same reason not to look."""
        return (*self.key(), tuple(self.unset), self.problem, self.written)


@dataclass
class FileError:
    """A file that could not be read as a manifest or Compose file; the other files are still scanned."""

    file: str
    message: str
    line: int | None = None
    hint: str | None = None

    def text(self) -> str:
        return f"{self.file}{f':{self.line}' if self.line else ''}: {self.message}"

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "message": self.message, "hint": self.hint}


@dataclass
class Skipped:
    """Something read on purpose and not looked up: a build-only service, a document without images..."""

    file: str
    where: str  # "services.web", "HelmRelease/podinfo"
    reason: str  # a short word: build-only, provider, no-image, not-a-manifest, no-pod-template
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "where": self.where, "reason": self.reason, "detail": self.detail}


@dataclass
class SourceWarning:
    """A problem in a file that does not stop its images being read (a Compose `${V:?err}`, an unset variable)."""

    file: str
    where: str
    message: str
    variable: str | None = None  # for a required (`:?`/`?`) variable that is unset

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "where": self.where, "message": self.message, "variable": self.variable}


@dataclass
class BuildStage:
    """One stage of a Dockerfile a build runs: what it is built from and the RUN steps it executes."""

    label: str  # the stage's name, or its index
    line: int
    platform: str | None  # FROM --platform as written
    base_line: int | None  # the FROM line when the base is an image (its result says where it runs)
    base_stage: str | None  # the stage it is built from, when it is one
    base_ref: str | None  # the image, resolved (None: a stage, scratch, or unset)
    runs: list[tuple[int, str]] = field(default_factory=list)  # (line, command text incl. heredoc bodies)


@dataclass
class BuildPlan:
    """A Dockerfile's build as kdoctor reads it: the stages it runs, in order, for one target platform."""

    file: str
    workload: str  # "" for a Dockerfile given with -f, "service web build" for a Compose build
    stages: list[BuildStage]
    target_platform: str | None = None  # the platform the build is for (Compose platform:), None: the machine's


@dataclass
class SourceReport:
    """Everything reading the inputs produced: the uses, and per file what failed or was skipped."""

    uses: list[ImageUse] = field(default_factory=list)
    errors: list[FileError] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    warnings: list[SourceWarning] = field(default_factory=list)
    files: list[str] = field(default_factory=list)  # files read without error
    builds: list[BuildPlan] = field(default_factory=list)  # Dockerfiles, whose RUN steps are judged too

    def extend(self, other: SourceReport) -> None:
        self.builds += other.builds
        self.uses += other.uses
        self.errors += other.errors
        self.skipped += other.skipped
        self.warnings += other.warnings
        self.files += other.files
