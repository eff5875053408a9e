"""The command line: assembles the command modules and maps every outcome to an exit code (the only place).

An unexpected exception is a bug: one line on stderr, exit 70, and a crash log with the traceback.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from kdoctor import __version__
from kdoctor.commands import diagnose, images, provision, why
from kdoctor.errors import EXIT_HELP, ExitCode, Interrupted, KdoctorError

app = typer.Typer(
    name="kdoctor",
    help="A doctor and provisioner for local Kubernetes clusters on Apple Silicon Macs.\n\n" + EXIT_HELP["diagnose"],
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"kdoctor {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool | None,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit."),
    ] = None,
) -> None:
    """kdoctor: find what will break your local cluster, and provision one that fits."""


for _module in (diagnose, images, provision, why):
    _module.register(app)


def _setup_logging() -> None:
    import os

    level = os.environ.get("KDOCTOR_LOG")
    if level:
        # Debug logs go to stderr; they show commands and URLs, never credentials (auth.Secret).
        import logging

        logging.basicConfig(
            level=level.upper(), stream=sys.stderr, format="kdoctor %(levelname)s %(name)s: %(message)s"
        )


def main() -> None:
    _setup_logging()
    try:
        # Standalone mode: click reports usage errors itself (exit 2) and handles --help/Exit.
        app()
    except KdoctorError as exc:
        typer.echo(f"kdoctor: error: {exc}", err=True)
        if exc.hint:
            typer.echo(f"kdoctor: {exc.hint}", err=True)
        sys.exit(int(exc.exit_code))
    except (KeyboardInterrupt, Interrupted) as exc:
        detail = f"; {exc.args[0]}" if isinstance(exc, Interrupted) and exc.args else ""
        typer.echo(f"kdoctor: interrupted{detail}", err=True)
        sys.exit(int(ExitCode.INTERRUPTED))
    except Exception as exc:
        from kdoctor.crashlog import write_crash_log

        where = write_crash_log(exc)
        typer.echo(
            f"kdoctor: internal error ({type(exc).__name__}); this is a bug in kdoctor. Details: {where}", err=True
        )
        sys.exit(int(ExitCode.INTERNAL))
