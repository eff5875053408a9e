"""The provisioning model: the Plan, what a product reports about an existing cluster (Observed), and the
Provider protocol that each product module (minikube.py, kind.py) fills in, as ctlptl's per-product Admin.

Everything that differs between minikube and kind lives behind `Provider`; the shared code (plan.py,
planned.py, apply.py, registry.py, render.py) never asks which product it is talking to.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from kdoctor.errors import CommandFailed
from kdoctor.facts.model import Facts, ProbeRecord, ProbeStatus, ToolFacts
from kdoctor.report.model import Severity
from kdoctor.runner import CommandResult, LineSink, Runner

if TYPE_CHECKING:
    # Only for annotations: profile.py reads the product list, so a runtime import here would be a cycle.
    from kdoctor.provision.profile import Profile

PLAN_SCHEMA = "kdoctor/plan/v1"


@dataclass(frozen=True)
class Preflight:
    """One preflight line: a check's finding about the planned cluster, or a note no check covers."""

    severity: Severity  # ERROR stops the plan; WARNING is printed
    message: str
    fix: str = ""
    id: str | None = None  # the catalogue check that found it; None for a sizing or product note

    def to_json(self) -> dict[str, Any]:
        return {"severity": self.severity.value, "message": self.message, "fix": self.fix, "id": self.id}


@dataclass(frozen=True)
class Sizes:
    """What the shared sizing (plan.py) decided, and the engine VM it fitted the cluster into."""

    cpus: int
    memory_mb: int  # per node
    disk_mb: int | None
    vm_cpus: int  # 0: no engine answered, or it did not say
    vm_mb: int
    headroom_mb: int  # KD603's: what a product that checks its own fit (kind) leaves free
    flexible: frozenset[str] = frozenset()  # sizes taken as a share of the VM
    notes: tuple[Preflight, ...] = ()


@dataclass(frozen=True)
class ProviderPlan:
    """The product's part of a plan: how the cluster is created and named, and what it cannot change later."""

    context: str
    kubernetes_version: str | None
    node_image: str | None
    create: list[str]  # the exact argv, as the dry run prints it
    immutable: dict[str, Any]  # product keys a running cluster cannot change (plan.py adds the shared ones)
    config: str | None = None  # a config file the product reads (kind's cluster config), shown in the plan
    notes: tuple[Preflight, ...] = ()  # what no catalogue check covers


@dataclass
class Plan:
    profile: str
    provider: str
    cluster: str
    context: str
    kubernetes_version: str | None
    node_image: str | None
    cpus: int
    memory_mb: int
    disk_mb: int | None
    nodes: int
    runtime: str
    addons: list[str]
    registry: dict[str, Any] | None
    kind_config: str | None
    create: list[str]
    vm: dict[str, Any]
    preflight: list[Preflight] = field(default_factory=list)
    spec: dict[str, Any] = field(default_factory=dict)
    flexible: set[str] = field(default_factory=set)  # sizes taken as a share of the VM: not a conflict if they differ
    immutable: dict[str, Any] = field(default_factory=dict)  # what minikube/kind cannot change on an existing cluster

    @property
    def profile_hash(self) -> str:
        return hashlib.sha256(json.dumps(self.spec, sort_keys=True).encode()).hexdigest()[:16]

    @property
    def ok(self) -> bool:
        return not any(p.severity is Severity.ERROR for p in self.preflight)

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": PLAN_SCHEMA,
            "profile": self.profile,
            "provider": self.provider,
            "cluster": self.cluster,
            "context": self.context,
            "kubernetes_version": self.kubernetes_version,
            "node_image": self.node_image,
            "cpus": self.cpus,
            "memory_mb": self.memory_mb,
            "disk_mb": self.disk_mb,
            "nodes": self.nodes,
            "runtime": self.runtime,
            "addons": self.addons,
            "registry": self.registry,
            "vm": self.vm,
            "kind_config": self.kind_config,
            "commands": [self.create],
            "ok": self.ok,
            "preflight": [p.to_json() for p in self.preflight],
        }


@dataclass
class Observed:
    exists: bool
    running: bool = False
    status: str = ""
    immutable: dict[str, Any] = field(default_factory=dict)  # what the tool itself reports
    addons: set[str] = field(default_factory=set)
    nodes: list[str] = field(default_factory=list)


class Provider(Protocol):
    """One product. Stateless: the planning half is pure; the other half runs the product's tools through
    the runner it is handed, so a provider can plan without one (`up --dry-run`, `down`)."""

    @property
    def name(self) -> str: ...  # what a profile's `provider:` says
    @property
    def supports_addons(self) -> bool: ...
    @property
    def profile_sections(self) -> tuple[str, ...]: ...  # profile sections only this product reads
    @property
    def checks(self) -> tuple[str, ...]: ...  # catalogue checks that judge a planned cluster of this product
    @property
    def upgrades_in_place(self) -> tuple[str, ...]: ...  # immutable fields the product raises in place (upgrade)

    def plan_cluster(self, profile: Profile, sizes: Sizes, tool: ToolFacts | None) -> ProviderPlan: ...
    def planned_facts(self, plan: Plan, facts: Facts) -> Facts: ...  # `facts` with the planned cluster in
    def size_lines(self, plan: Plan) -> list[tuple[str, str]]: ...  # (label, text) for the printed plan
    def registry_network(self, plan: Plan) -> str: ...  # the docker network the nodes are on
    def configures_containerd(self, plan: Plan) -> bool: ...  # nodes read containerd's certs.d
    def clusters(self, facts: Facts) -> set[str]: ...  # this product's clusters the facts show (any state)

    def observe(self, runner: Runner, plan: Plan) -> Observed: ...
    def create(self, runner: Runner, plan: Plan, on_line: LineSink) -> None: ...
    def start(self, runner: Runner, plan: Plan, observed: Observed, on_line: LineSink) -> None: ...
    def upgrade(self, runner: Runner, plan: Plan, observed: Observed, on_line: LineSink) -> None: ...
    def stop(self, runner: Runner, plan: Plan, observed: Observed) -> None: ...
    def delete(self, runner: Runner, plan: Plan, on_line: LineSink) -> None: ...
    def sync_addons(self, runner: Runner, plan: Plan, observed: Observed, previous: set[str]) -> list[str]: ...


def require_ok(res: CommandResult, what: str) -> None:
    if not res.ok:
        raise CommandFailed(res.argv, res.returncode, res.stderr or res.stdout or what)


def with_planned(facts: Facts, probe: str, **update: Any) -> Facts:
    """A copy of `facts` with the planned cluster's part replaced; its probe counts as answered, since
    the plan itself is the fact the checks judge (even when the tool is not installed yet)."""
    probes = {**facts.probes, probe: ProbeRecord(status=ProbeStatus.OK)}
    return facts.model_copy(update={**update, "probes": probes})


def addon_changes(plan: Plan, observed: Observed, previous: set[str]) -> list[tuple[str, bool]]:
    """Enable what the profile lists; disable only what an earlier run of this profile enabled, so an addon the
    user turned on by hand is left alone."""
    on = [(a, True) for a in sorted(set(plan.addons) - observed.addons)]
    return on + [(a, False) for a in sorted((previous - set(plan.addons)) & observed.addons)]
