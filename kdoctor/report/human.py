"""The flutter-doctor-style terminal report."""

from __future__ import annotations

from itertools import groupby

from rich.console import Console
from rich.markup import escape

from kdoctor.report.model import CATEGORY_TITLES, RANK, Category, Finding, Report, Severity

BOX = {0: ("[green][✓][/]", "✓"), 1: ("[green][✓][/]", "✓"), 2: ("[yellow][!][/]", "!"), 3: ("[red][✗][/]", "✗")}
MARK = {
    Severity.OK: "[green]•[/]",
    Severity.INFO: "[blue]•[/]",
    Severity.WARNING: "[yellow]![/]",
    Severity.ERROR: "[red]✗[/]",
    Severity.SKIPPED: "[dim]-[/]",
}


# The check whose "ok" message best sums up each category on its headline.
HEADLINE = {
    Category.HOST: "KD102",
    Category.TOOLS: "KD202",
    Category.ENGINE: "KD301",
    Category.EMULATION: "KD404",
    Category.DRIVER: "KD501",
    Category.RESOURCES: "KD601",
    Category.KUBERNETES: "KD704",
    Category.IMAGES: "KD801",
}


# A category whose every check was skipped was not looked at: a ✓ there would read as "verified" (users of flutter
# doctor complained of exactly this roll-up, flutter/flutter#3625).
NOT_CHECKED = "[dim][-][/]"


def _headline(cat: Category, findings: list[Finding]) -> str:
    title = CATEGORY_TITLES[cat]
    skipped = [f for f in findings if f.severity is Severity.SKIPPED]
    if len(skipped) == len(findings):
        return f"{NOT_CHECKED} [bold]{title}[/] (not checked: {escape(skipped[0].message)})"
    worst = max(RANK[f.severity] for f in findings if f.severity is not Severity.SKIPPED)
    box = BOX[worst][0]
    lead = [f for f in findings if f.id == HEADLINE.get(cat) and f.severity in (Severity.OK, Severity.INFO)]
    parts = [lead[0].message] if lead and worst <= 1 else []
    if skipped:
        parts.append(f"{len(skipped)} of {len(findings)} not checked")
    return f"{box} [bold]{title}[/]" + (f" ({escape('; '.join(parts))})" if parts else "")


def render_human(report: Report, console: Console, *, verbose: bool = False, title: str = "diagnose") -> None:
    if not verbose:
        console.print(f"kdoctor {title} (to see all details, run [bold]kdoctor {title} -v[/]):")
    for cat, group in groupby(report.findings, key=lambda f: f.category):
        items = list(group)
        console.print(_headline(cat, items))
        for f in items:
            shown = verbose or f.severity in (Severity.WARNING, Severity.ERROR)
            if not shown:
                continue
            # The one place the word is added: a skipped finding's message is its reason alone.
            word = "skipped: " if f.severity is Severity.SKIPPED else ""
            console.print(f"    {MARK[f.severity]} {f.id} {word}{escape(f.message)}", highlight=False)
            if f.severity in (Severity.WARNING, Severity.ERROR):
                if verbose and f.why:
                    console.print(f"      [dim]why:[/] {escape(f.why)}", highlight=False)
                if f.fix:
                    console.print(f"      [bold]fix:[/] {escape(f.fix)}", highlight=False)
                for cmd in f.commands:
                    console.print(f"        [cyan]$ {escape(cmd)}[/]", highlight=False)
    errors, warnings = report.count(Severity.ERROR), report.count(Severity.WARNING)
    skipped = report.count(Severity.SKIPPED)
    bad_cats = {f.category for f in report.findings if f.severity in (Severity.ERROR, Severity.WARNING)}
    console.print()
    if errors or warnings:
        parts = []
        if errors:
            parts.append(f"{errors} error{'s' if errors != 1 else ''}")
        if warnings:
            parts.append(f"{warnings} warning{'s' if warnings != 1 else ''}")
        console.print(
            f"[bold]! kdoctor found {' and '.join(parts)} in {len(bad_cats)} "
            f"categor{'ies' if len(bad_cats) != 1 else 'y'}.[/]" + (f" ({skipped} checks skipped)" if skipped else "")
        )
    else:
        console.print("[bold green]• No issues found![/]" + (f" ({skipped} checks skipped)" if skipped else ""))
