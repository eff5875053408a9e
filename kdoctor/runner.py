"""The one seam through which kdoctor starts processes.

Every call has a timeout and an argv list (never a shell string). A binary that is missing or
a call that times out becomes a ``CommandResult`` with a distinctive return code rather than an
exception, so probes can record *why* a fact is unknown without try/except around every call.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

log = logging.getLogger(__name__)

NOT_FOUND = 127
TIMED_OUT = 124


@dataclass(frozen=True, slots=True)
class CommandResult:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    duration: float = 0.0

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def timed_out(self) -> bool:
        return self.returncode == TIMED_OUT and self.stderr.startswith("kdoctor: timed out")

    @property
    def not_found(self) -> bool:
        return self.returncode == NOT_FOUND and self.stderr.startswith("kdoctor: not found")

    def why(self) -> str:
        """A one-line reason for a failed call, suitable for 'skipped: <reason>'."""
        name = os.path.basename(self.argv[0]) if self.argv else "?"
        if self.not_found:
            return f"{name} is not installed (not on PATH)"
        if self.timed_out:
            return f"`{name} {' '.join(self.argv[1:3])}` timed out"
        lines = [ln.strip() for ln in self.stderr.strip().splitlines() if ln.strip()]
        tail = lines[-1] if lines else "no output"
        return f"`{name} {' '.join(self.argv[1:3])}` exited {self.returncode}: {tail[:200]}"


LineSink = Callable[[str], None]


class Runner(Protocol):
    def run(
        self,
        argv: Sequence[str],
        *,
        timeout: float = 10.0,
        env: Mapping[str, str] | None = None,
        input: str | None = None,
    ) -> CommandResult: ...

    def which(self, name: str) -> str | None: ...

    def stream(
        self, argv: Sequence[str], *, on_line: LineSink, timeout: float = 600.0, env: Mapping[str, str] | None = None
    ) -> CommandResult: ...


@dataclass
class SubprocessRunner:
    """Runs real processes. ``env`` entries are added to (not replacing) the inherited environment."""

    path: str | None = None  # PATH override, for tests that put fakes first

    def which(self, name: str) -> str | None:
        return shutil.which(name, path=self.path)

    def _prepare(self, argv: tuple[str, ...], env: Mapping[str, str] | None) -> tuple[str | None, dict[str, str]]:
        """The executable's path (None: not installed) and the environment the process gets."""
        exe = argv[0] if os.sep in argv[0] else self.which(argv[0])
        full_env = dict(os.environ)
        if self.path is not None:
            full_env["PATH"] = self.path
        full_env.update(env or {})
        return exe, full_env

    def run(
        self,
        argv: Sequence[str],
        *,
        timeout: float = 10.0,
        env: Mapping[str, str] | None = None,
        input: str | None = None,
    ) -> CommandResult:
        argv = tuple(str(a) for a in argv)
        exe, full_env = self._prepare(argv, env)
        if exe is None:
            return CommandResult(argv, NOT_FOUND, "", f"kdoctor: not found: {argv[0]}")
        log.debug("running %s (timeout %.1fs)", argv, timeout)
        start = time.monotonic()
        try:
            proc = subprocess.run(
                (exe, *argv[1:]),
                input=input,
                capture_output=True,
                text=True,
                encoding="utf-8",
                errors="replace",
                timeout=timeout,
                env=full_env,
                check=False,
                stdin=None if input is not None else subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired:
            return CommandResult(
                argv, TIMED_OUT, "", f"kdoctor: timed out after {timeout:g}s", time.monotonic() - start
            )
        except OSError as exc:  # e.g. exec format error, permission denied
            return CommandResult(argv, 126, "", f"kdoctor: cannot run: {exc.strerror}", time.monotonic() - start)
        duration = time.monotonic() - start
        log.debug("%s exited %d in %.3fs", argv[0], proc.returncode, duration)
        return CommandResult(argv, proc.returncode, proc.stdout, proc.stderr, duration)

    def stream(
        self, argv: Sequence[str], *, on_line: LineSink, timeout: float = 600.0, env: Mapping[str, str] | None = None
    ) -> CommandResult:
        """Run and hand each output line (stdout and stderr merged) to `on_line` as it arrives."""
        argv = tuple(str(a) for a in argv)
        exe, full_env = self._prepare(argv, env)
        if exe is None:
            return CommandResult(argv, NOT_FOUND, "", f"kdoctor: not found: {argv[0]}")
        start = time.monotonic()
        log.debug("streaming %s (timeout %.1fs)", argv, timeout)
        proc = subprocess.Popen(
            (exe, *argv[1:]),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            encoding="utf-8",
            errors="replace",
            env=full_env,
        )
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        lines: list[str] = []
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                lines.append(line)
                on_line(line.rstrip("\n"))
            proc.wait()
        finally:
            timer.cancel()
            if proc.poll() is None:  # interrupted: do not leave the tool running unattended
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
        duration = time.monotonic() - start
        if duration >= timeout and proc.returncode not in (0, None):
            return CommandResult(argv, TIMED_OUT, "".join(lines), f"kdoctor: timed out after {timeout:g}s", duration)
        out = "".join(lines)
        return CommandResult(argv, proc.returncode, out, out, duration)


Handler = Callable[[tuple[str, ...]], CommandResult | None]


@dataclass
class FakeRunner:
    """A runner for unit tests: answers from a handler and records every call.

    Unknown commands answer 'not found', so a test never reaches a real tool by accident.
    """

    handler: Handler
    calls: list[tuple[str, ...]] = field(default_factory=list)
    installed: Sequence[str] = ()

    def which(self, name: str) -> str | None:
        return f"/fake/bin/{name}" if name in self.installed else None

    def run(
        self,
        argv: Sequence[str],
        *,
        timeout: float = 10.0,
        env: Mapping[str, str] | None = None,
        input: str | None = None,
    ) -> CommandResult:
        argv = tuple(str(a) for a in argv)
        self.calls.append(argv)
        result = self.handler(argv)
        if result is None:
            return CommandResult(argv, NOT_FOUND, "", f"kdoctor: not found: {argv[0]}")
        return result

    def stream(
        self, argv: Sequence[str], *, on_line: LineSink, timeout: float = 600.0, env: Mapping[str, str] | None = None
    ) -> CommandResult:
        res = self.run(argv, timeout=timeout, env=env)
        for line in res.stdout.splitlines():
            on_line(line)
        return res
