"""The command line. Only this module turns errors into exit codes (see errors.ExitCode).

Heavy modules (rich, pydantic, httpx, python-on-whales) are imported inside commands so that
`kdoctor --version` and `--help` start fast.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from kdoctor import __version__
from kdoctor.errors import ExitCode, KdoctorError

if TYPE_CHECKING:
    from rich.console import Console

EXIT_CODES_HELP = (
    "Exit codes: 0 no errors; 1 at least one error (or warning with --fail-on warning); "
    "2 bad usage or bad input; 3 some checks could not run."
)

app = typer.Typer(
    name="kdoctor",
    help="A doctor and provisioner for local Kubernetes clusters on Apple Silicon Macs.\n\n" + EXIT_CODES_HELP,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


class Output(StrEnum):
    text = "text"
    json = "json"


class FailOn(StrEnum):
    error = "error"
    warning = "warning"
    never = "never"


def _version(value: bool) -> None:
    if value:
        typer.echo(f"kdoctor {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool | None,
        typer.Option(
            "--version",
            callback=_version,
            is_eager=True,
            help="Print the version and exit.",
        ),
    ] = None,
) -> None:
    """kdoctor: find what will break your local cluster, and provision one that fits."""


def stdout_console() -> Console:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True)


def stderr_console() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def gather_facts(quiet: bool = False, images_budget: float = 0.0) -> object:
    from kdoctor.facts.gather import gather
    from kdoctor.runner import SubprocessRunner

    err = stderr_console()
    if quiet or not err.is_terminal:
        return gather(SubprocessRunner(), images_budget=images_budget)
    with err.status("kdoctor: gathering facts…") as status:
        done: list[str] = []

        def on_done(name: str) -> None:
            done.append(name)
            status.update(f"kdoctor: gathering facts… ({len(done)} probes done, last: {name})")

        return gather(SubprocessRunner(), on_done=on_done, images_budget=images_budget)


@app.command(epilog=EXIT_CODES_HELP)
def diagnose(
    output: Annotated[
        Output, typer.Option("--output", "-o", help="text (default) or json (JSON only on stdout).")
    ] = Output.text,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show every finding with its reasons.")] = False,
    fail_on: Annotated[FailOn, typer.Option("--fail-on", help="Severity that makes the exit code 1.")] = FailOn.error,
    facts_file: Annotated[
        Path | None, typer.Option("--facts", help="Judge a saved `kdoctor facts` snapshot instead of this machine.")
    ] = None,
    only: Annotated[
        list[str] | None, typer.Option("--only", help="Run only these check ids or categories (repeatable).")
    ] = None,
    images_budget: Annotated[
        float,
        typer.Option("--images-budget", min=0, help="Seconds to spend judging the current cluster's images (0: skip)."),
    ] = 5.0,
) -> None:
    """Check this Mac, its container engine and its local clusters; say why and how to fix."""
    from kdoctor.diagnose import run_checks
    from kdoctor.facts.snapshot import load_facts
    from kdoctor.report.human import render_human
    from kdoctor.report.jsonout import dumps, report_to_json

    facts = (
        load_facts(facts_file) if facts_file else gather_facts(quiet=output is Output.json, images_budget=images_budget)
    )
    report = run_checks(facts, only=only)  # type: ignore[arg-type]
    code = report.exit_code(fail_on.value)
    if output is Output.json:
        typer.echo(dumps(report_to_json(report, exit_code=code)))
    else:
        render_human(report, stdout_console(), verbose=verbose)
    raise typer.Exit(code)


@app.command()
def facts(
    output: Annotated[Output, typer.Option("--output", "-o", help="json (the snapshot format).")] = Output.json,
    images_budget: Annotated[
        float,
        typer.Option("--images-budget", min=0, help="Seconds to spend judging the current cluster's images (0: skip)."),
    ] = 5.0,
) -> None:
    """Print everything the probes saw, as JSON (secrets redacted). Replay it with `diagnose --facts`."""
    from kdoctor.facts.snapshot import dump_facts

    typer.echo(dump_facts(gather_facts(quiet=True, images_budget=images_budget)))  # type: ignore[arg-type]


@app.command()
def explain(check_id: Annotated[str, typer.Argument(help="A check id such as KD401.")]) -> None:
    """Print a check's catalogue entry: what it looks at, why it matters, how to fix it."""
    from kdoctor.checks.registry import catalogue
    from kdoctor.errors import UsageError

    entry = catalogue().get(check_id.upper())
    if entry is None:
        raise UsageError(f"unknown check id {check_id!r}; `kdoctor checks` lists them")
    con = stdout_console()
    con.print(f"[bold]{entry.id}[/] {entry.title}  [dim]({entry.category.value}, {entry.severity.value})[/]")
    con.print(f"\n[bold]Why[/]\n{entry.rationale}")
    con.print(f"\n[bold]Fix[/]\n{entry.fix}")
    for cmd in entry.commands:
        con.print(f"  [cyan]$ {cmd}[/]")
    if entry.thresholds:
        con.print("\n[bold]Thresholds[/]")
        for k, v in entry.thresholds.items():
            con.print(f"  {k}: {v}")
    if entry.sources:
        con.print("\n[bold]Sources[/]\n" + "\n".join(f"  {s}" for s in entry.sources))


@app.command("checks")
def list_checks() -> None:
    """List every check: id, category, default severity, title."""
    from kdoctor.checks.registry import catalogue

    for e in catalogue().values():
        typer.echo(f"{e.id}  {e.category.value:<10} {e.severity.value:<8} {e.title}")


class EmulatorChoice(StrEnum):
    auto = "auto"
    qemu = "qemu"
    rosetta = "rosetta"
    none = "none"


IMAGES_EXIT_HELP = (
    "Exit codes: 0 every image is native or emulated; 1 some image will crash or cannot run (crash, unsupported); "
    "2 bad usage or bad input; 3 some verdicts are unknown (registry unreachable, 401, 429, timeout) and none worse."
)


@app.command(epilog=IMAGES_EXIT_HELP)
def images(
    refs: Annotated[
        list[str] | None, typer.Argument(help="Image references (nginx:1.27, ghcr.io/o/r@sha256:…).")
    ] = None,
    files: Annotated[
        list[str] | None,
        typer.Option("--file", "-f", help="Kubernetes YAML or Compose file, directory (recursive) or - for stdin."),
    ] = None,
    context: Annotated[
        str | None, typer.Option("--context", help="Kube context to read workloads from (no refs/files).")
    ] = None,
    namespace: Annotated[
        str | None, typer.Option("--namespace", "-n", help="Namespace to read workloads from.")
    ] = None,
    all_namespaces: Annotated[
        bool, typer.Option("--all-namespaces", "-A", help="Read workloads from every namespace.")
    ] = False,
    platform: Annotated[
        str | None,
        typer.Option(
            "--platform", help="Target os/arch[/variant]; default: the cluster's nodes, else the engine, else the host."
        ),
    ] = None,
    emulator: Annotated[
        EmulatorChoice, typer.Option("--emulator", help="Emulator for foreign images; auto detects it like diagnose.")
    ] = EmulatorChoice.auto,
    insecure_registry: Annotated[
        list[str] | None,
        typer.Option("--insecure-registry", help="Use plain HTTP for this registry host[:port] (repeatable)."),
    ] = None,
    output: Annotated[Output, typer.Option("--output", "-o", help="text (default) or json.")] = Output.text,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show where each image is used.")] = False,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Ignore and do not write the on-disk cache.")] = False,
    max_age: Annotated[
        float,
        typer.Option(
            "--max-age", help="Seconds a cached tag is trusted without a HEAD request (default 0: always re-check)."
        ),
    ] = 0.0,
    concurrency: Annotated[
        int, typer.Option("--concurrency", min=1, max=64, help="Parallel registry connections.")
    ] = 16,
    timeout: Annotated[float, typer.Option("--timeout", min=0.5, help="Per-request timeout in seconds.")] = 10.0,
    no_suggest: Annotated[
        bool, typer.Option("--no-suggest", help="Do not look for newer tags that have the platform.")
    ] = False,
) -> None:
    """Every image's platforms from its registry, and the amd64-only Go entrypoints that will crash."""
    from kdoctor.errors import UsageError
    from kdoctor.images.command import detect_platform_and_emulator, render, run_scan
    from kdoctor.images.scan import ImageUse
    from kdoctor.images.sources import uses_from_cluster, uses_from_files
    from kdoctor.runner import SubprocessRunner

    runner = SubprocessRunner()
    uses: list[ImageUse] = [ImageUse(r, sources=["argument"]) for r in refs or []]
    if files:
        uses += uses_from_files(files)
    node_arch = None
    if not refs and not files:
        uses, err = uses_from_cluster(runner, context=context, namespace=namespace, all_namespaces=all_namespaces)
        if err:
            raise UsageError(f"no images given and the cluster could not be read: {err}")
        from kdoctor.facts.kubectl import probe_nodes

        node_arch = probe_nodes(runner, context)
    target, emu, source = detect_platform_and_emulator(
        runner, want_platform=platform, want_emulator=emulator.value, node_arch=node_arch
    )
    outcome = run_scan(
        uses,
        runner=runner,
        platform=target,
        emulator=emu,
        emulator_source=source,
        insecure=set(insecure_registry or ()),
        use_cache=not no_cache,
        concurrency=concurrency,
        timeout=timeout,
        max_age=max_age,
        suggest=not no_suggest,
        progress_console=None if output is Output.json else stderr_console(),
    )
    if output is Output.json:
        from kdoctor.report.jsonout import dumps

        typer.echo(dumps(outcome.to_json()))
    else:
        render(outcome, stdout_console(), verbose=verbose)
    raise typer.Exit(outcome.exit_code())


def main() -> None:
    try:
        # Standalone mode: click reports usage errors itself (exit 2) and handles --help/Exit.
        app()
    except KdoctorError as exc:
        typer.echo(f"kdoctor: error: {exc}", err=True)
        sys.exit(int(exc.exit_code))
    except KeyboardInterrupt:
        typer.echo("kdoctor: interrupted", err=True)
        sys.exit(int(ExitCode.INTERRUPTED))
