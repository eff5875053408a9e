"""`kdoctor images`: scan the uses for a target, and render the outcome (text or the images/v1 JSON)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kdoctor import __version__
from kdoctor.errors import ExitCode
from kdoctor.images.builds import FAILS, StageVerdict, judge_builds
from kdoctor.images.inputs.uses import ImageUse, Origin, SourceReport
from kdoctor.images.judge import verdict as V
from kdoctor.images.result import ImageResult
from kdoctor.images.rows import ImageRow, group_rows, unknown_by_host
from kdoctor.images.scan import open_scanner
from kdoctor.platforms import Platform
from kdoctor.policy import Allowance, Policy, allowance
from kdoctor.runner import Runner
from kdoctor.vocabulary import GATE_ORDER, SEVERITY_ORDER

if TYPE_CHECKING:
    from rich.console import Console

    from kdoctor.images.registry import Mirrors, VerdictSources

IMAGES_SCHEMA = "kdoctor/images/v1"


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
    deep: bool = False
    inputs: SourceReport = field(default_factory=SourceReport)
    unreachable: dict[str, str] = field(default_factory=dict)  # host -> why, for the rest of the run
    platform_assumed: str | None = None  # why the target platform is this machine's, not the nodes' (could not look)
    builds: list[StageVerdict] = field(default_factory=list)  # Dockerfile stages: where they run, steps at risk
    fail_on: str | None = None  # --fail-on: the verdict that fails the run (None: the exit codes as always)
    policy: Policy | None = None  # .kdoctor.yaml: allow entries and severities
    # What this run read (blobs by digest, tag and analysis notes), kept with --write-verdicts
    learned: tuple[dict[str, bytes], dict[str, dict[str, dict[str, Any]]]] | None = None
    verdict_sources: VerdictSources | None = None  # the verdict files read (--verdicts, policy verdicts:)

    def allowed(self, r: ImageResult, o: Origin | None) -> Allowance | None:
        """The policy's acceptance of this use of the image (by the image as written, its file and its rules)."""
        rules = (r.verdict, f"image-{r.verdict}", *(k.rule.id for k in r.risks))
        return allowance(self.policy, r.written or r.ref, (o.written_in or o.file) if o else None, rules)

    def counted(self) -> list[ImageResult]:
        """The results that count for the exit code: those with a use the policy does not (or no longer) accept."""
        out = []
        for r in self.results:
            uses: list[Origin | None] = list(r.origins) or [None]
            if any((a := self.allowed(r, o)) is None or a.expired for o in uses):
                out.append(r)
        return out

    @property
    def rows(self) -> list[ImageRow]:
        return group_rows(self.results)

    @property
    def unread_resources(self) -> list[str]:
        """Resources that name no image kdoctor can read (no pod template, no catalogued field): their operator
        pulls something, and what is not known."""
        return [f"{s.file}: {s.where}" for s in self.inputs.skipped if s.reason == "no-pod-template"]

    def gated(self, verdict: str) -> bool:
        """Whether a verdict fails the run: at or above `--fail-on` (GATE_ORDER); without one, crash and
        unsupported, as the exit codes always said. `never`: nothing."""
        if self.fail_on == "never":
            return False
        if self.fail_on is None:
            return verdict in (V.CRASH, V.UNSUPPORTED)
        return GATE_ORDER[verdict] >= GATE_ORDER[self.fail_on] > 0

    def exit_code(self) -> int:
        if self.inputs.errors:  # a file that could not be read: the others were scanned, the run is not whole
            return ExitCode.USAGE
        counted = self.counted()
        # A build step known to die under its emulator, or a base BuildKit cannot pull, counts as a crash.
        failing_build = any(b.steps or b.runs == FAILS for b in self.builds)
        if any(self.gated(r.verdict) for r in counted) or (failing_build and self.gated(V.CRASH)):
            return ExitCode.FINDINGS
        if self.fail_on is not None:  # a gate decides alone: below it the run passes
            return ExitCode.OK
        verdicts = {r.verdict for r in counted}
        # Nothing judged while resources were there whose images kdoctor cannot read: not "all fine" (issue 25).
        if V.UNKNOWN in verdicts or self.platform_assumed or (not self.results and self.unread_resources):
            return ExitCode.INCOMPLETE
        return ExitCode.OK

    def to_json(self) -> dict[str, Any]:
        rows = self.rows
        counts: dict[str, int] = {v: 0 for v in V.VERDICTS}
        for row in rows:
            counts[row.verdict] += 1
        return {
            "schema": IMAGES_SCHEMA,
            "kdoctor_version": __version__,
            "exit_code": self.exit_code(),
            "platform": str(self.platform),
            "emulator": self.emulator,
            "emulator_source": self.emulator_source,
            "deep": self.deep,
            "summary": counts,
            "images": [row.to_json() for row in rows],
            "requests": self.requests,
            "rate_limits": self.rate_limits,
            "pull_quota": self.pull_quota,
            "duration_ms": int(self.duration_s * 1000),
            "notes": ([self.platform_assumed] if self.platform_assumed else []) + self.notes,
            "platform_assumed": self.platform_assumed,
            "uses": sum(len(row.uses()) for row in rows),
            "unknown_by_host": unknown_by_host(rows),
            "unreachable": self.unreachable,
            "files": self.inputs.files,
            "errors": [e.to_json() for e in self.inputs.errors],
            "skipped": [s.to_json() for s in self.inputs.skipped],
            "warnings": [w.to_json() for w in self.inputs.warnings],
            "builds": [b.to_json() for b in self.builds],
            "allowed": [
                {"image": r.written or r.ref, "file": o.written_in or o.file, "line": o.line, **a.to_json()}
                for r in self.results
                for o in r.origins
                if (a := self.allowed(r, o)) is not None
            ],
            "policy": self.policy.source if self.policy else None,
            "verdict_sources": None
            if self.verdict_sources is None
            else {"files": self.verdict_sources.sources, "errors": self.verdict_sources.errors},
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
    deep: bool = False,
    inputs: SourceReport | None = None,
    max_pulls: int | None = None,
    platform_assumed: str | None = None,
    mirrors: Mirrors | None = None,
    verdict_sources: VerdictSources | None = None,
    record: bool = False,
    offline: bool = False,
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
        deep=deep,
        max_pulls=max_pulls,
        mirrors=mirrors,
        verdict_sources=verdict_sources,
        record=record,
        offline=offline,
    ) as scanner:
        if progress_console is not None and progress_console.is_terminal and len(uses) > 3:
            from rich.progress import Progress

            with Progress(console=progress_console, transient=True) as bar:
                task = bar.add_task("kdoctor: resolving images", total=len({u.scan_key() for u in uses}))
                results = scanner.scan(uses, concurrency=concurrency, progress=lambda _r: bar.advance(task))
        else:
            results = scanner.scan(uses, concurrency=concurrency)
        stats = scanner.client.stats
        unreachable = scanner.client.unreachable.hosts()
        quota = scanner.client.quota
        notes = list(scanner.notes)
        cache = scanner.client.cache
        learned = (dict(cache.seen_blobs), {k: dict(v) for k, v in cache.seen_notes.items()}) if record else None
        for r in results:  # which answers a verdict file gave (JSON `source`, a footnote in the text)
            if r.digest and r.digest in cache.from_overlay and verdict_sources is not None:
                r.source = verdict_sources.origin.get(r.digest)
    results.sort(key=lambda r: (-SEVERITY_ORDER[r.verdict], r.ref))
    return ScanOutcome(
        platform,
        emulator,
        emulator_source,
        results,
        dict(stats.requests),
        quota.rate_limits(),
        time.monotonic() - t0,
        notes=notes,
        deep=deep,
        inputs=inputs or SourceReport(),
        unreachable=unreachable,
        platform_assumed=platform_assumed,
        pull_quota=quota.report(),
        builds=judge_builds((inputs or SourceReport()).builds, results, platform, emulator),
        learned=learned,
        verdict_sources=verdict_sources,
    )
