"""The check engine: facts in, a report out. Pure: no I/O beyond reading the catalogue."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable

from kdoctor.checks.all import load_checks
from kdoctor.checks.catalogue import Ctx, catalogue
from kdoctor.facts.model import Facts, ProbeStatus
from kdoctor.report.model import Category, Finding, Report, Severity

log = logging.getLogger(__name__)

# Conditions a check can need beyond "the probe finished": name -> (holds?, why not).
Condition = Callable[[Facts], tuple[bool, str]]
CONDITIONS: dict[str, Condition] = {
    "engine:reachable": lambda f: (
        bool(f.engine and f.engine.reachable),
        f"the container engine is not reachable ({f.engine.error})" if f.engine else "the engine probe did not finish",
    ),
}


def _unmet(facts: Facts, needs: Iterable[str]) -> tuple[str | None, bool]:
    """(reason, probe_failed) for the first unmet need; probe_failed is True for errors/timeouts."""
    for need in needs:
        if need in CONDITIONS:
            probe = need.split(":", 1)[0]
            reason, failed = _unmet(facts, (probe,))
            if reason:
                return reason, failed
            holds, why = CONDITIONS[need](facts)
            if not holds:
                return why, False
            continue
        rec = facts.probes.get(need)
        if rec is None:
            return f"no {need} facts were gathered", False
        if rec.status is not ProbeStatus.OK:
            return rec.reason or f"the {need} probe ended with {rec.status.value}", rec.status in (
                ProbeStatus.ERROR,
                ProbeStatus.TIMEOUT,
            )
    return None, False


def run_checks(facts: Facts, *, only: Iterable[str] | None = None) -> Report:
    start = time.monotonic()
    specs = load_checks()
    entries = catalogue()
    wanted = set(only) if only else None
    findings: list[Finding] = []
    incomplete = False
    for check_id in sorted(specs):
        entry = entries[check_id]
        if wanted is not None and check_id not in wanted and entry.category.value not in wanted:
            continue
        spec = specs[check_id]
        ctx = Ctx(entry)
        reason, failed = _unmet(facts, spec.needs)
        if reason:
            incomplete |= failed
            findings.append(ctx.problem(f"skipped: {reason}", severity=Severity.SKIPPED))
            continue
        try:
            produced = list(spec.fn(facts, ctx))
        except Exception as exc:  # one broken check must not take the report down
            log.debug("check %s crashed", check_id, exc_info=True)
            incomplete = True
            produced = [ctx.problem(f"skipped: check crashed ({type(exc).__name__}: {exc})", severity=Severity.SKIPPED)]
        findings.extend(produced or [ctx.ok()])
    probes = {name: rec.model_dump(mode="json") for name, rec in facts.probes.items()}
    order = list(Category)
    findings.sort(key=lambda f: (order.index(f.category), f.id))
    return Report(
        findings=findings, probes=probes, incomplete=incomplete, duration_ms=int((time.monotonic() - start) * 1000)
    )
