"""The policy file (issue 27): what a team decides once, in its repository, for every `kdoctor images` run.

`.kdoctor.yaml` is found from the current directory up to the repository root (the nearest directory with .git),
or given with `--config FILE`. Every key is validated; an unknown key is an error that names the file, the line
and the key, never silently ignored. Command-line flags win over the file.

    platforms: [linux/arm64, linux/amd64]   # each image is judged for each
    emulator: qemu                          # where none can be detected (CI)
    fail_on: emulated                       # as --fail-on
    allow:                                  # accepted findings: still reported, as suppressed
      - image: "*/team/legacy:*"            # a glob over the reference as written
        path: "deploy/**"                   # optional: a glob over the file, relative to the repository root
        rule: emulated                      # optional: a verdict word or a risk/build rule id
        reason: "runs under Rosetta on our Macs; replaced in Q2"   # required
        expires: 2027-03-31                 # optional: after this date the finding fails again, and says so
    severity: {emulated: error, image-unknown: note}   # level per verdict or rule id: error, warning or note
    ignore_paths: ["vendor/**"]             # files whose images are not read
    mirrors: {docker.io: "https://harbor.corp/v2/dockerhub-proxy"}   # a registry answered by another
    verdicts: [ci/kdoctor-verdicts.json]    # verdict files a teammate's run wrote (--write-verdicts)
"""

from __future__ import annotations

import datetime as dt
import fnmatch
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from kdoctor.errors import InputError
from kdoctor.yamlkeys import line_for

FILENAME = ".kdoctor.yaml"
Level = Literal["error", "warning", "note"]


def _platform(text: str) -> str:
    from kdoctor.platforms import Platform

    Platform.parse(text)  # a ValueError says what is wrong
    return text


class Allow(BaseModel):
    model_config = ConfigDict(extra="forbid")

    image: str
    path: str | None = None
    rule: str | None = None
    reason: str = Field(min_length=1)
    expires: dt.date | None = None

    def expired(self, today: dt.date) -> bool:
        return self.expires is not None and today > self.expires


class Policy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    platforms: list[Annotated[str, AfterValidator(_platform)]] = Field(default_factory=list)
    emulator: Literal["qemu", "rosetta", "none"] | None = None
    fail_on: Literal["crash", "unsupported", "emulated", "unknown", "never"] | None = None
    allow: list[Allow] = Field(default_factory=list)
    severity: dict[str, Level] = Field(default_factory=dict)
    ignore_paths: list[str] = Field(default_factory=list)
    mirrors: dict[str, str] = Field(default_factory=dict)
    verdicts: list[str] = Field(default_factory=list)  # verdict files read before the registries (--verdicts)

    source: str | None = None  # the file it came from (not a key)
    root: Path | None = None  # the repository root paths are relative to (not a key)


def repo_root(start: Path) -> Path:
    """The repository root: the nearest directory up from `start` with .git, else `start` itself."""
    here = start.resolve()
    for d in (here, *here.parents):
        if (d / ".git").exists():
            return d
    return here


def find(start: Path | None = None) -> Path | None:
    """The nearest .kdoctor.yaml from `start` (the current directory) up to the repository root."""
    here = (start or Path.cwd()).resolve()
    root = repo_root(here)
    for d in (here, *here.parents):
        if (d / FILENAME).is_file():
            return d / FILENAME
        if d == root:
            return None
    return None


ALLOWED_VALUES = {
    "emulator": "qemu, rosetta, none",
    "fail_on": "crash, unsupported, emulated, unknown, never",
    "severity": "error, warning, note",
}


def load(path: Path) -> Policy:
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(source, f"cannot read: {exc.strerror or exc}") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputError(source, f"invalid YAML: {getattr(exc, 'problem', None) or exc}",
                         line=mark.line + 1 if mark else None) from None  # fmt: skip
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise InputError(source, "a policy file is a YAML mapping", line=1)
    for key in ("source", "root"):
        if key in raw:
            raise InputError(source, "unknown key", line=line_for(text, (key,)), key=key)
    try:
        policy = Policy.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(p for p in err["loc"] if isinstance(p, int | str))
        msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
        top = str(loc[0]) if loc else ""
        if top in ALLOWED_VALUES and err["type"] != "extra_forbidden":
            msg += f" (allowed: {ALLOWED_VALUES[top]})"
        if top == "allow" and err["type"] == "extra_forbidden":
            msg += " (allowed: image, path, rule, reason, expires)"
        raise InputError(source, msg, line=line_for(text, loc), key=".".join(str(p) for p in loc) or None) from None
    policy.source, policy.root = source, repo_root(path.parent)
    return policy


@dataclass(frozen=True)
class Allowance:
    """A finding the policy accepts (or accepted until `expires`)."""

    reason: str
    expires: dt.date | None
    expired: bool

    def to_json(self) -> dict[str, Any]:
        return {"reason": self.reason, "expires": self.expires.isoformat() if self.expires else None,
                "expired": self.expired}  # fmt: skip

    def text(self) -> str:
        until = f" until {self.expires.isoformat()}" if self.expires else ""
        return f"allowed{until}: {self.reason}" + (" — EXPIRED, it fails again" if self.expired else "")


def allowance(policy: Policy | None, image: str, file: str | None, rules: tuple[str, ...],
              today: dt.date | None = None) -> Allowance | None:  # fmt: skip
    """The first allow entry that matches the image as written, its file (relative to the repository root) and
    one of its rules (the verdict word and the rule ids)."""
    if policy is None:
        return None
    today = today or dt.date.today()
    rel = None
    if file is not None and policy.root is not None:
        try:
            rel = Path(file).resolve().relative_to(policy.root).as_posix()
        except ValueError:
            rel = file
    for entry in policy.allow:
        if not fnmatch.fnmatchcase(image, entry.image):
            continue
        if entry.path is not None and (rel is None or not fnmatch.fnmatchcase(rel, entry.path)):
            continue
        if entry.rule is not None and entry.rule not in rules:
            continue
        return Allowance(entry.reason, entry.expires, entry.expired(today))
    return None


def ignored(policy: Policy | None, file: str) -> bool:
    if policy is None or not policy.ignore_paths or policy.root is None:
        return False
    try:
        rel = Path(file).resolve().relative_to(policy.root).as_posix()
    except ValueError:
        return False
    return any(fnmatch.fnmatchcase(rel, g) for g in policy.ignore_paths)
