"""The console-script entry point: answers `--version` before importing the CLI framework."""

from __future__ import annotations

import sys


def _interrupted(signum: int, frame: object) -> None:
    from kdoctor.errors import Interrupted

    raise Interrupted


def main() -> None:
    import signal

    signal.signal(signal.SIGINT, _interrupted)
    signal.signal(signal.SIGTERM, _interrupted)
    if sys.argv[1:] == ["--version"]:
        from kdoctor import __version__

        print(f"kdoctor {__version__}")
        return
    from kdoctor.cli import main as cli_main

    cli_main()
