"""Which program a container actually starts: Kubernetes command/args over ENTRYPOINT/CMD, the PATH
from the image's Env, through init wrappers and simple `sh -c "exec …"` forms; and `Entrypoint`, what the
analysis learnt about that program (the inspection's result, which the judge reads)."""

from __future__ import annotations

import posixpath
import shlex
from dataclasses import dataclass, field
from typing import Any

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
WRAPPERS = {"tini", "tini-static", "dumb-init", "catatonit", "docker-init", "su-exec", "gosu", "tini-static-amd64"}
ENV_WRAPPERS = {"env"}
SHELLS = {"sh", "bash", "ash", "dash", "zsh", "busybox"}
_SHELL_META = set(";&|<>()$`\n")


@dataclass
class Process:
    argv: list[str]  # the effective argv of the container
    program: str | None  # argv[0] after unwrapping, as written
    note: str | None = None  # why kdoctor could not be sure


def effective_argv(
    entrypoint: list[str] | None, cmd: list[str] | None, command: list[str] | None, args: list[str] | None
) -> list[str]:
    """Kubernetes semantics: `command` replaces ENTRYPOINT (and drops CMD); `args` replaces CMD."""
    if command:
        return [*command, *(args or [])]
    return [*(entrypoint or []), *(args if args is not None else (cmd or []))]


def _after_flags(argv: list[str]) -> list[str]:
    if "--" in argv:
        return argv[argv.index("--") + 1 :]
    rest = list(argv)
    while rest and rest[0].startswith("-"):
        rest.pop(0)
    return rest


def _simple_shell_command(script: str) -> list[str] | None:
    try:
        words = shlex.split(script.strip())
    except ValueError:
        return None
    if any(w in ("&&", "||", ";", "|") or any(c in _SHELL_META for c in w) for w in words):
        return None

    def strip_assignments(ws: list[str]) -> list[str]:
        while ws and "=" in ws[0] and not ws[0].startswith("/"):
            ws = ws[1:]  # VAR=value prefix
        return ws

    words = strip_assignments(words)
    if words and words[0] == "exec":
        words = strip_assignments(words[1:])
    return words or None


def unwrap(argv: list[str]) -> Process:
    """Strip init wrappers and `sh -c "exec prog …"`; say so when the process cannot be known."""
    cur = list(argv)
    for _ in range(8):
        if not cur:
            return Process(argv, None, "the image sets no ENTRYPOINT or CMD")
        name = posixpath.basename(cur[0])
        if name in WRAPPERS:
            cur = _after_flags(cur[1:])
            continue
        if name in ENV_WRAPPERS:
            rest = cur[1:]
            while rest and (rest[0].startswith("-") or "=" in rest[0]):
                rest = rest[1:]
            cur = rest
            continue
        if name in SHELLS and len(cur) >= 3 and cur[1] in ("-c", "-ec", "-ce", "-exc"):
            if name == "busybox":
                return Process(argv, cur[0])
            inner = _simple_shell_command(cur[2])
            if inner is None:
                return Process(argv, cur[0], f"a shell script (`{cur[2][:60]}`): the program it runs is indeterminate")
            cur = inner
            continue
        return Process(argv, cur[0])
    return Process(argv, cur[0] if cur else None, "too many nested wrappers")


def env_path(env: list[str] | None) -> str:
    for item in env or []:
        if item.startswith("PATH="):
            return item[5:]
    return DEFAULT_PATH


def candidates(program: str, env: list[str] | None, workdir: str | None) -> list[str]:
    """Absolute paths to try, in the order the kernel/runc would."""
    if "/" in program:
        if program.startswith("/"):
            return [posixpath.normpath(program)]
        return [posixpath.normpath(posixpath.join(workdir or "/", program))]
    out = []
    for d in env_path(env).split(":"):
        if d.startswith("/"):
            out.append(posixpath.normpath(posixpath.join(d, program)))
    return out


@dataclass
class Entrypoint:
    """What kdoctor learnt about the process the container starts."""

    argv: list[str] = field(default_factory=list)
    path: str | None = None  # resolved path in the image
    kind: str | None = None  # "elf", "script", "missing", "loop", "indeterminate", "unreadable" (layer error)
    machine: str | None = None  # ELF machine: amd64, arm64...
    static: bool | None = None
    go_version: str | None = None
    go_module: str | None = None
    go_path: str | None = None
    goamd64: str | None = None
    cgo: bool | None = None
    note: str | None = None
    isa_needed: str | None = None  # the ELF's `x86 ISA needed` level (v2/v3/v4), when marked
    runtime: str | None = None  # dotnet | node | java | python: what the entrypoint starts
    os_release: dict[str, str] | None = None  # the image's os-release, when a risk rule needed it
    os_release_path: str | None = None
    os_release_note: str | None = None  # how it was read, or why not
    interpreter: str | None = None  # PT_INTERP of a dynamic ELF entrypoint
    interpreter_found: bool | None = None  # whether the image holds it (looked for only with --deep)

    def go_json(self) -> dict[str, Any] | None:
        if not self.go_version:
            return None
        return {
            "version": self.go_version,
            "path": self.path,
            "module": self.go_module,
            "main": self.go_path,
            "goamd64": self.goamd64,
            "cgo": self.cgo,
        }
