"""Preflight is the checks: the planned cluster joins a copy of the facts, and the catalogue's checks judge
it with the thresholds and words `kdoctor diagnose` uses, so the two commands cannot disagree.

Only what no check covers is said here (a missing tool) or by the sizing and the product (their notes).
"""

from __future__ import annotations

from kdoctor.checks.run import run_checks
from kdoctor.facts.model import EngineFacts, Facts, ProbeRecord, ProbeStatus, ToolFacts
from kdoctor.provision.model import Plan, Preflight, Provider
from kdoctor.provision.providers import PROVIDERS
from kdoctor.report.model import Severity

# The engine checks judge every plan; each product adds the checks that judge its clusters (Provider.checks).
ENGINE_CHECKS = ("KD301", "KD302")
JUDGED = (Severity.ERROR, Severity.WARNING)  # ok, info and skipped findings do not speak against a plan


def _engine_known(facts: Facts) -> Facts:
    """An engine the probe could not ask is, for a plan, an engine that does not answer. KD301 then says
    so; skipped for want of facts, it would let a plan pass with no VM to size the cluster for."""
    rec = facts.probes.get("engine")
    if facts.engine is not None and rec is not None and rec.status is ProbeStatus.OK:
        return facts
    why = (rec.reason if rec else None) or "no engine facts were gathered"
    engine = facts.engine or EngineFacts(reachable=False, error=why)
    return facts.model_copy(
        update={"engine": engine, "probes": {**facts.probes, "engine": ProbeRecord(status=ProbeStatus.OK)}}
    )


def planned_facts(plan: Plan, facts: Facts, provider: Provider) -> Facts:
    """A copy of `facts` with the planned cluster in it, as the product would report it once created."""
    return provider.planned_facts(plan, _engine_known(facts))


def _other_clusters(facts: Facts, planned: str) -> set[str]:
    """Every product's clusters on this machine but the planned one (each provider names its own)."""
    return set().union(*(p.clusters(facts) for p in PROVIDERS.values())) - {planned}


def judge(plan: Plan, facts: Facts, provider: Provider) -> list[Preflight]:
    """The errors and warnings the checks find in the planned cluster and the engine and tools it needs.
    Findings about the other clusters already on this machine are `diagnose`'s business, not this plan's."""
    report = run_checks(planned_facts(plan, facts, provider), only=[*ENGINE_CHECKS, *provider.checks])
    others = _other_clusters(facts, plan.cluster)
    return [
        Preflight(f.severity, f.message, f.fix, id=f.id)
        for f in report.findings
        if f.severity in JUDGED and f.subject not in others
    ]


def installed(name: str, tool: ToolFacts | None) -> list[Preflight]:
    """No check covers a missing minikube or kind (KD202 is content with either one), so the plan says it."""
    if tool is not None and tool.path:
        return []
    return [Preflight(Severity.ERROR, f"{name} is not installed", f"Install it (arm64 build): brew install {name}")]


def preflight(plan: Plan, facts: Facts, provider: Provider) -> list[Preflight]:
    return [*judge(plan, facts, provider), *installed(provider.name, facts.tools.get(provider.name))]
