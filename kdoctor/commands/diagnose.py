"""diagnose, facts, explain, checks: the doctor and its catalogue."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from kdoctor.commands._common import (
    ImagesBudgetOpt,
    ImagesDeepOpt,
    Output,
    VerboseOpt,
    gather_facts,
    stdout_console,
)
from kdoctor.errors import EXIT_HELP


class DiagnoseOutput(StrEnum):
    text = "text"
    json = "json"
    junit = "junit"
    github = "github"


class FailOn(StrEnum):
    error = "error"
    warning = "warning"
    never = "never"


def diagnose(
    output: Annotated[
        DiagnoseOutput,
        typer.Option(
            "--output",
            "-o",
            help="text (default), json (JSON only on stdout), junit (JUnit XML) or github (workflow annotations, "
            "then the text).",
        ),
    ] = DiagnoseOutput.text,
    verbose: VerboseOpt = False,
    fail_on: Annotated[
        FailOn, typer.Option("--fail-on", envvar="KDOCTOR_FAIL_ON", help="Severity that makes the exit code 1.")
    ] = FailOn.error,
    facts_file: Annotated[
        Path | None, typer.Option("--facts", help="Judge a saved `kdoctor facts` snapshot instead of this machine.")
    ] = None,
    only: Annotated[
        list[str] | None, typer.Option("--only", help="Run only these check ids or categories (repeatable).")
    ] = None,
    images_budget: ImagesBudgetOpt = 5.0,
    images_deep: ImagesDeepOpt = False,
    offline: Annotated[
        bool,
        typer.Option("--offline", help="KD801 judges the cluster's images from the local cache only (no network)."),
    ] = False,
) -> None:
    """Check this Mac, its container engine and its local clusters; say why and how to fix."""
    from kdoctor.checks.run import run_checks
    from kdoctor.facts.snapshot import load_facts
    from kdoctor.report.human import render_human
    from kdoctor.report.jsonout import dumps, report_to_json

    if facts_file:
        facts = load_facts(facts_file)
    else:
        quiet = output in (DiagnoseOutput.json, DiagnoseOutput.junit)
        facts = gather_facts(quiet=quiet, images_budget=images_budget, images_deep=images_deep, offline=offline)
    report = run_checks(facts, only=only)
    code = report.exit_code(fail_on.value)
    if output is DiagnoseOutput.json:
        typer.echo(dumps(report_to_json(report, exit_code=code)))
    elif output is DiagnoseOutput.junit:
        from kdoctor.report import ci

        typer.echo(ci.junit(report, fail_on.value))
    else:
        if output is DiagnoseOutput.github:
            from kdoctor.report import ci

            for line in ci.github(report):
                typer.echo(line)
        render_human(report, stdout_console(), verbose=verbose)
    raise typer.Exit(code)


def facts(
    output: Annotated[Output, typer.Option("--output", "-o", help="json (the snapshot format).")] = Output.json,
    images_budget: ImagesBudgetOpt = 5.0,
    images_deep: ImagesDeepOpt = False,
) -> None:
    """Print everything the probes saw, as JSON (secrets redacted). Replay it with `diagnose --facts`."""
    from kdoctor.facts.snapshot import dump_facts

    typer.echo(dump_facts(gather_facts(quiet=True, images_budget=images_budget, images_deep=images_deep)))


def explain(check_id: Annotated[str, typer.Argument(help="A check id such as KD401.")]) -> None:
    """Print a check's catalogue entry: what it looks at, why it matters, how to fix it."""
    from kdoctor.checks.catalogue import catalogue
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
            if isinstance(v, list):  # a table (KD305's known-bad releases): one item a line
                con.print(f"  {k}:", markup=False)
                for item in v:
                    text = ", ".join(f"{ik}: {iv}" for ik, iv in item.items()) if isinstance(item, dict) else item
                    con.print(f"    - {text}", markup=False)
            else:
                con.print(f"  {k}: {v}", markup=False)
    if entry.sources:
        con.print("\n[bold]Sources[/]\n" + "\n".join(f"  {s}" for s in entry.sources))


def list_checks() -> None:
    """List every check: id, category, default severity, title."""
    from kdoctor.checks.catalogue import catalogue

    for e in catalogue().values():
        typer.echo(f"{e.id}  {e.category.value:<10} {e.severity.value:<8} {e.title}")


def register(app: typer.Typer) -> None:
    app.command(epilog=EXIT_HELP["diagnose"])(diagnose)
    app.command()(facts)
    app.command()(explain)
    app.command("checks")(list_checks)
