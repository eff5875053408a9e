"""The console-script entry point: answers `--version` before importing the CLI framework."""

from __future__ import annotations

import sys


def main() -> None:
    if sys.argv[1:] == ["--version"]:
        from kdoctor import __version__

        print(f"kdoctor {__version__}")
        return
    from kdoctor.cli import main as cli_main

    cli_main()
