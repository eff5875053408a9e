"""The check engine: facts in, a report out. Pure: no I/O beyond reading the catalogue.

The one rule every check gets from here rather than from its own code: a check that could not look never
says "ok". A check names the facts it reads (``needs``); when the probe behind any of them failed, timed
out or was denied, the check does not run and its finding is ``skipped`` with that probe's own reason (or,
where the catalogue says the denial itself matters, ``on_denied: warning``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable

from kdoctor.checks.all import load_checks
from kdoctor.checks.catalogue import Ctx, Entry, catalogue
from kdoctor.facts.model import FAILED_STATUSES, Facts, ProbeRecord, ProbeStatus, failure_status
from kdoctor.report.model import Category, Finding, Report, Severity

log = logging.getLogger(__name__)

# Conditions a check can need beyond "the probe finished": name -> (holds?, why not).
Condition = Callable[[Facts], tuple[bool, str]]
CONDITIONS: dict[str, Condition] = {
    "engine:reachable": lambda f: (
        bool(f.engine and f.engine.reachable),
        f"the container engine is not reachable ({f.engine.error})" if f.engine else "the engine probe did not finish",
    ),
    "emulation:known": lambda f: (
        bool(f.emulation and f.emulation.emulator != "unknown"),
        "kdoctor could not tell which emulator runs amd64 code"
        + (f" ({f.emulation.detail})" if f.emulation and f.emulation.detail else ""),
    ),
}

# Facts assembled from other probes' facts: a need of the left is unmet when a probe on the right failed.
# ("tools" is every tools.<name> probe.)
DERIVED_FROM: dict[str, tuple[str, ...]] = {"emulation": ("engine",)}
GROUPS = ("tools",)


def _kubectl_record(facts: Facts, part: str) -> ProbeRecord | None:
    """kubectl answers in steps (context, server version, nodes and pods): one record per step."""
    k = facts.kubectl
    if k is None:
        return None
    if not k.server_reachable:
        if not k.current_context:
            return ProbeRecord(status=ProbeStatus.MISSING, reason="no current kube context: no cluster to look at")
        why = k.server_error or "the API server did not answer"
        # A cluster that does not answer is KD704's finding about the cluster, not a probe that failed: what
        # needs it is skipped, but the report is not "incomplete" (exit 3) for a stopped cluster.
        status = ProbeStatus.DENIED if failure_status(why) is ProbeStatus.DENIED else ProbeStatus.MISSING
        return ProbeRecord(status=status, reason=f"the cluster did not answer: {why}")
    # Nodes and pods are listed apart (one can be denied while the other is read); "list" is either of them.
    # (list_error: one combined `get nodes,pods` that failed, as snapshots before the split recorded it.)
    lists = {"nodes": k.nodes_error, "pods": k.pods_error, "list": k.nodes_error or k.pods_error}
    error = (lists[part] or k.list_error) if part in lists else None
    if error:
        return ProbeRecord(status=failure_status(error), reason=error)
    return ProbeRecord(status=ProbeStatus.OK)


def record(facts: Facts, name: str) -> ProbeRecord | None:
    """The record for a need: a probe's own, or one derived from the facts it returned."""
    if name in ("kubectl.server", "kubectl.list", "kubectl.nodes", "kubectl.pods"):
        return _kubectl_record(facts, name.split(".", 1)[1])
    rec = facts.probes.get(name)
    if rec is None and name.startswith("tools."):
        # Older snapshots recorded only the "tools" group.
        return facts.probes.get("tools")
    return rec


def probes_behind(need: str, facts: Facts) -> list[str]:
    """Every record a need rests on, outermost first: "kubectl.list" -> kubectl, kubectl.list."""
    name = need.split(":", 1)[0]
    parts = name.split(".")
    out = [".".join(parts[: i + 1]) for i in range(len(parts))]
    for base in DERIVED_FROM.get(name, ()):
        out.insert(0, base)
    if name in GROUPS:
        out += sorted(k for k in facts.probes if k.startswith(name + "."))
    return out


def unmet(facts: Facts, needs: Iterable[str]) -> tuple[ProbeRecord | None, str | None]:
    """(failed record, reason) for the first need that cannot be looked at; (None, None) when all are met."""
    for need in needs:
        for name in probes_behind(need, facts):
            rec = record(facts, name)
            if rec is None:
                return ProbeRecord(status=ProbeStatus.MISSING), f"no {name} facts were gathered"
            if rec.status is not ProbeStatus.OK:
                return rec, rec.reason or f"the {name} probe ended with {rec.status.value}"
        if need in CONDITIONS:
            holds, why = CONDITIONS[need](facts)
            if not holds:
                return ProbeRecord(status=ProbeStatus.MISSING), why
    return None, None


def not_looked(ctx: Ctx, entry: Entry, rec: ProbeRecord, reason: str) -> Finding:
    """The finding of a check that could not look. The message is the reason alone: the severity word
    ("skipped") is the reporter's to print, once."""
    if rec.status is ProbeStatus.DENIED and entry.on_denied is not None:
        return ctx.problem(reason, severity=entry.on_denied, data={"probe_status": rec.status.value})
    return ctx.problem(reason, severity=Severity.SKIPPED, data={"probe_status": rec.status.value})


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
        rec, reason = unmet(facts, spec.needs)
        if rec is not None and reason:
            incomplete |= rec.status in FAILED_STATUSES
            findings.append(not_looked(ctx, entry, rec, reason))
            continue
        try:
            produced = list(spec.fn(facts, ctx))
        except Exception as exc:  # one broken check must not take the report down
            log.debug("check %s crashed", check_id, exc_info=True)
            incomplete = True
            produced = [ctx.problem(f"check crashed ({type(exc).__name__}: {exc})", severity=Severity.SKIPPED)]
        findings.extend(produced or [ctx.ok()])
    probes = {name: rec.model_dump(mode="json") for name, rec in facts.probes.items()}
    order = list(Category)
    findings.sort(key=lambda f: (order.index(f.category), f.id))
    return Report(
        findings=findings, probes=probes, incomplete=incomplete, duration_ms=int((time.monotonic() - start) * 1000)
    )
