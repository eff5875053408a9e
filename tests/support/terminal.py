"""A real terminal for the report tests: tmux runs the real command in a pane of a given width, and the screen is
read back with `capture-pane` as a person would see it (issue 26).

`capture-pane -J` joins the lines tmux wrapped, so a line longer than the pane comes back whole and longer than
the width: that is how a test sees that the terminal, not kdoctor, had to break it.
"""

from __future__ import annotations

import itertools
import os
import shlex
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.tiers import uses_real_part

DONE = "__kdoctor_test_done__"
_names = itertools.count()


@dataclass
class Tmux:
    socket: str

    def _tmux(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["tmux", "-L", self.socket, "-f", "/dev/null", *args], capture_output=True, text=True, timeout=20
        )

    def run(
        self, argv: list[str], *, width: int, env: dict[str, str], cwd: Path, height: int = 300, timeout: float = 60
    ) -> list[str]:
        """The screen lines `argv` leaves in a `width`-column pane (trailing blanks dropped), wrapped lines joined."""
        uses_real_part("tmux")
        name = f"p{next(_names)}"
        # The pane's shell gets exactly this environment: no COLUMNS, so the program asks the terminal its size.
        assigns = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        script = f"cd {shlex.quote(str(cwd))} && env -u COLUMNS -u LINES {assigns} {shlex.join(argv)}; echo {DONE}"
        started = self._tmux(
            "new-session", "-d", "-s", name, "-x", str(width), "-y", str(height), "sh", "-c", script + "; sleep 600"
        )
        assert started.returncode == 0, started.stderr
        try:
            deadline = time.monotonic() + timeout
            while True:
                shot = self._tmux("capture-pane", "-p", "-J", "-t", name, "-S", "-", "-E", "-").stdout
                lines = [line.rstrip() for line in shot.splitlines()]
                if DONE in lines:
                    out = lines[: lines.index(DONE)]
                    while out and not out[-1]:
                        out.pop()
                    return out
                if time.monotonic() > deadline:
                    raise AssertionError(f"{argv} did not finish in {timeout}s; screen:\n{shot}")
                time.sleep(0.1)
        finally:
            self._tmux("kill-session", "-t", name)


@pytest.fixture(scope="session")
def tmux() -> Iterator[Tmux]:
    if shutil.which("tmux") is None:
        from tests.conftest import require_real

        require_real("tmux (Debian package tmux) for the terminal report tests")
    t = Tmux(socket=f"kdoctor-tests-{os.getpid()}")
    yield t
    t._tmux("kill-server")
