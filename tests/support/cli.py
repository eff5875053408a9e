"""One way for tests to run kdoctor as a user does: `python -m kdoctor …` in a child process, with a timeout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

KDOCTOR: Final = (sys.executable, "-m", "kdoctor")
# What most `images` tests pin, so that nothing on the machine decides the target: an arm64 node under QEMU.
IMAGES_ARM64_QEMU: Final = ("images", "--platform", "linux/arm64", "--emulator", "qemu", "--no-suggest")


@dataclass(frozen=True)
class Ran:
    """How one run ended."""

    returncode: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def json(self) -> dict[str, Any]:
        """The JSON object on stdout, or {} when stdout holds none (a usage error, a text report)."""
        out = self.stdout.strip()
        return json.loads(out) if out.startswith("{") else {}

    def triple(self) -> tuple[int, dict[str, Any], str]:
        """(exit code, the JSON document or {}, stderr): what most tests look at."""
        return self.returncode, self.json, self.stderr


def run_kdoctor(
    *args: str,
    env: Mapping[str, str] | None = None,
    inherit_env: bool = True,
    input: str | bytes | None = None,
    timeout: float = 120,
    cwd: Path | str | None = None,
    preexec_fn: Callable[[], object] | None = None,
) -> Ran:
    """Run kdoctor with `args`. `env` adds to this process's environment, or replaces it with inherit_env=False.
    Standard input is empty unless `input` is given, as in CI; bytes are sent as they are (to test undecodable
    input), and the output is then decoded with replacement characters."""
    full_env = {**os.environ, **(env or {})} if inherit_env else dict(env or {})
    t0 = time.monotonic()
    binary = isinstance(input, bytes)
    res = subprocess.run(
        [*KDOCTOR, *args],
        input=input,
        stdin=None if input is not None else subprocess.DEVNULL,
        capture_output=True,
        text=not binary,
        timeout=timeout,
        env=full_env,
        cwd=cwd,
        preexec_fn=preexec_fn,
    )
    seconds = time.monotonic() - t0
    if binary:
        return Ran(res.returncode, res.stdout.decode(errors="replace"), res.stderr.decode(errors="replace"), seconds)
    return Ran(res.returncode, res.stdout, res.stderr, seconds)
