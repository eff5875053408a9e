"""`kdoctor images`: gather the uses, decide platform and emulator, scan, render."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kdoctor import __version__
from kdoctor.errors import ExitCode, UsageError
from kdoctor.images import verdict as V
from kdoctor.images.cache import Cache
from kdoctor.images.platforms import Platform
from kdoctor.images.registry import RegistryClient
from kdoctor.images.scan import ImageResult, ImageUse, Scanner
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
            "duration_ms": int(self.duration_s * 1000),
            "notes": self.notes,
        }


def detect_platform_and_emulator(
    runner: Runner, *, want_platform: str | None, want_emulator: str, node_arch: str | None
) -> tuple[Platform, str, str]:
    """--platform, else the cluster's nodes, else the engine VM, else the host; --emulator or detection."""
    from kdoctor.facts import emulation, engine, host

    eng = None
    if want_platform is None or want_emulator == "auto":
        eng = engine.probe_engine(runner)
    if want_platform:
        try:
            target = Platform.parse(want_platform)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    else:
        arch = node_arch or (eng.arch if eng and eng.reachable else None) or host.probe_host(runner).arch
        target = Platform.parse(f"linux/{arch}")
    if want_emulator != "auto":
        return target, want_emulator, "--emulator"
    node, entries, why = emulation.read_node_binfmt(runner) if eng and eng.reachable else (None, None, None)
    em = emulation.resolve_emulator(eng, node, entries, why)
    return target, emulation.foreign_emulator(em.emulator), em.source


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
) -> ScanOutcome:
    client = RegistryClient(
        runner=runner,
        cache=Cache(enabled=use_cache),
        insecure=insecure,
        concurrency=concurrency,
        timeout=timeout,
        max_age=max_age,
    )
    scanner = Scanner(client, platform, emulator, suggest=suggest)
    t0 = time.monotonic()
    try:
        if progress_console is not None and progress_console.is_terminal and len(uses) > 3:
            from rich.progress import Progress

            with Progress(console=progress_console, transient=True) as bar:
                task = bar.add_task("kdoctor: resolving images", total=len({u.key() for u in uses}))
                results = scanner.scan(uses, concurrency=concurrency, progress=lambda _r: bar.advance(task))
        else:
            results = scanner.scan(uses, concurrency=concurrency)
    finally:
        client.close()
    results.sort(key=lambda r: (-V.SEVERITY_ORDER[r.verdict], r.ref))
    return ScanOutcome(
        platform,
        emulator,
        emulator_source,
        results,
        dict(client.stats.requests),
        dict(client.stats.rate_limits),
        time.monotonic() - t0,
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
    for registry, rl in outcome.rate_limits.items():
        console.print(f"{registry} rate limit: {rl.get('remaining', '?')} of {rl.get('limit', '?')} pulls left")
