"""`kdoctor images`: scan the uses for a target, and render the outcome (text or the images/v1 JSON)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kdoctor import __version__
from kdoctor.errors import ExitCode
from kdoctor.images import verdict as V
from kdoctor.images.platforms import Platform
from kdoctor.images.scan import ImageResult, open_scanner
from kdoctor.images.uses import ImageUse
from kdoctor.runner import Runner

if TYPE_CHECKING:
    from rich.console import Console

IMAGES_SCHEMA = "kdoctor/images/v1"
STYLE = {V.NATIVE: "green", V.EMULATED: "yellow", V.CRASH: "bold red", V.UNSUPPORTED: "red", V.UNKNOWN: "magenta"}


@dataclass
class ScanOutcome:
    platform: Platform
    emulator: str
    emulator_source: str
    results: list[ImageResult]
    requests: dict[str, int]
    rate_limits: dict[str, dict[str, str]]
    duration_s: float
    notes: list[str] = field(default_factory=list)
    pull_quota: dict[str, dict[str, Any]] = field(default_factory=dict)

    def exit_code(self) -> int:
        verdicts = {r.verdict for r in self.results}
        if verdicts & {V.CRASH, V.UNSUPPORTED}:
            return ExitCode.FINDINGS
        if V.UNKNOWN in verdicts:
            return ExitCode.INCOMPLETE
        return ExitCode.OK

    def to_json(self) -> dict[str, Any]:
        counts = {v: 0 for v in V.VERDICTS}
        for r in self.results:
            counts[r.verdict] += 1
        return {
            "schema": IMAGES_SCHEMA,
            "kdoctor_version": __version__,
            "exit_code": self.exit_code(),
            "platform": str(self.platform),
            "emulator": self.emulator,
            "emulator_source": self.emulator_source,
            "summary": counts,
            "images": [r.to_json() for r in self.results],
            "requests": self.requests,
            "rate_limits": self.rate_limits,
            "pull_quota": self.pull_quota,
            "duration_ms": int(self.duration_s * 1000),
            "notes": self.notes,
        }


def run_scan(
    uses: list[ImageUse],
    *,
    runner: Runner,
    platform: Platform,
    emulator: str,
    emulator_source: str,
    insecure: set[str],
    use_cache: bool,
    concurrency: int,
    timeout: float,
    max_age: float,
    suggest: bool,
    progress_console: Console | None,
    max_pulls: int | None = None,
) -> ScanOutcome:
    t0 = time.monotonic()
    with open_scanner(
        runner,
        platform,
        emulator,
        use_cache=use_cache,
        insecure=insecure,
        concurrency=concurrency,
        timeout=timeout,
        max_age=max_age,
        suggest=suggest,
        max_pulls=max_pulls,
    ) as scanner:
        if progress_console is not None and progress_console.is_terminal and len(uses) > 3:
            from rich.progress import Progress

            with Progress(console=progress_console, transient=True) as bar:
                task = bar.add_task("kdoctor: resolving images", total=len({u.key() for u in uses}))
                results = scanner.scan(uses, concurrency=concurrency, progress=lambda _r: bar.advance(task))
        else:
            results = scanner.scan(uses, concurrency=concurrency)
        stats = scanner.client.stats
        quota = scanner.client.quota
    results.sort(key=lambda r: (-V.SEVERITY_ORDER[r.verdict], r.ref))
    return ScanOutcome(
        platform,
        emulator,
        emulator_source,
        results,
        dict(stats.requests),
        quota.rate_limits(),
        time.monotonic() - t0,
        pull_quota=quota.report(),
    )


def render(outcome: ScanOutcome, console: Console, *, verbose: bool = False) -> None:
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"Images for {outcome.platform} (emulator: {outcome.emulator})", title_justify="left")
    for col in ("image", "platforms", "verdict", "Go", "why / fix"):
        table.add_column(col, overflow="fold")
    for r in outcome.results:
        go = r.entrypoint.go_version if r.entrypoint and r.entrypoint.go_version else ""
        why = r.reason
        if r.suggestion:
            why += f"\n→ {r.suggestion}"
        if verbose and r.sources:
            why += "\n" + "\n".join(f"  used by {s}" for s in r.sources[:5])
        plats = ", ".join(r.platforms) or "-"
        table.add_row(escape(r.ref), escape(plats), f"[{STYLE[r.verdict]}]{r.verdict}[/]", go, escape(why))
    console.print(table)
    counts: dict[str, int] = {}
    for r in outcome.results:
        counts[r.verdict] = counts.get(r.verdict, 0) + 1
    summary = ", ".join(f"{n} {v}" for v, n in sorted(counts.items(), key=lambda kv: -V.SEVERITY_ORDER[kv[0]]))
    console.print(f"{len(outcome.results)} image(s): {summary or 'none'} in {outcome.duration_s:.2f}s")
    for registry, q in outcome.pull_quota.items():
        used = f" (this scan spent {q['pulls_used']})" if q["pulls_used"] else ""
        console.print(f"{registry}: {q['advice']}{used}", markup=False, highlight=False)
