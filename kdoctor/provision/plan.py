"""Profile + facts -> a plan: sizes that fit the engine VM, the product's own part (its flags, version
and config), the registry wiring, and the preflight. Pure: no I/O.

The sizing aims where the checks look: its floors are KD602's and its headroom KD603's, read from the
catalogue, so sizes taken as a share of the VM land where the preflight (those same checks) accepts them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kdoctor.checks.catalogue import catalogue
from kdoctor.facts.model import MIB, EngineFacts, Facts
from kdoctor.provision.model import Plan, Preflight, Sizes
from kdoctor.provision.planned import preflight
from kdoctor.provision.profile import Profile, Share, to_mb
from kdoctor.provision.providers import provider_for
from kdoctor.report.model import Severity


@dataclass(frozen=True)
class Floors:
    cpus: int  # per node
    memory_mb: int  # per node
    headroom_mb: int  # left in the VM for the engine, a registry and builds


def floors() -> Floors:
    kd602, kd603 = catalogue()["KD602"].thresholds, catalogue()["KD603"].thresholds
    return Floors(int(kd602["min_cpus"]), int(kd602["min_memory_mb"]), int(kd603["headroom_mb"]))


def vm_size(engine: EngineFacts | None) -> tuple[int, int]:
    """(CPUs, MB) of the engine VM; 0 when no engine answered or it did not say."""
    if engine is None or not engine.reachable:
        return 0, 0
    return engine.ncpu or 0, (engine.mem_total or 0) // MIB


def _share(value: Share, total: float, floor: float, *, memory: bool = False) -> float:
    """`share` of `total`, clamped to the profile's min and max (sizes such as 4GiB for memory) and `floor`."""
    n = value.share * total
    for bound, clamp in ((value.min, max), (value.max, min)):
        if bound is not None:
            n = clamp(n, float(to_mb(bound) if memory else bound))
    return max(n, floor)


def size_cpus(cpus: int | Share, vm_cpus: int, fl: Floors) -> int:
    if not isinstance(cpus, Share):
        return cpus
    n = int(_share(cpus, vm_cpus or fl.cpus, fl.cpus))
    return min(n, vm_cpus) if vm_cpus else n


def size_memory(memory: int | str | Share, nodes: int, vm_mb: int, fl: Floors) -> tuple[int, list[Preflight]]:
    """Per-node memory, and a note when the VM has no room for the smallest node the profile allows."""
    if not isinstance(memory, Share):
        return to_mb(memory), []
    notes = []
    mem = int(_share(memory, vm_mb or fl.memory_mb, fl.memory_mb, memory=True)) // nodes
    if vm_mb:
        floor = to_mb(memory.min) if memory.min is not None else fl.memory_mb
        room = (vm_mb - fl.headroom_mb) // nodes
        if room < floor:
            notes.append(
                Preflight(
                    Severity.ERROR,
                    f"the profile needs at least {floor} MB per node but the engine VM "
                    f"({vm_mb} MB, less {fl.headroom_mb} MB headroom) has room for {room} MB",
                    "Enlarge the engine VM, or use a smaller profile (kdoctor up --profile minimal).",
                )
            )
        mem = min(mem, room)
    return (mem // 256 * 256 if mem >= 2048 else mem), notes  # round down to a readable number


def size(profile: Profile, engine: EngineFacts | None) -> Sizes:
    fl = floors()
    vm_cpus, vm_mb = vm_size(engine)
    notes: list[Preflight] = []
    if engine is not None and engine.reachable and not vm_cpus:
        # An unreachable engine is KD301's finding; one that answers without its size is only this.
        notes.append(
            Preflight(
                Severity.ERROR,
                "the container engine did not report its CPUs, so there is nothing to size the cluster for",
                "Check `docker info`, restart the engine and re-run.",
            )
        )
    r = profile.resources
    memory, memory_notes = size_memory(r.memory, profile.nodes, vm_mb, fl)
    return Sizes(
        cpus=size_cpus(r.cpus, vm_cpus, fl),
        memory_mb=memory,
        disk_mb=to_mb(r.disk) if r.disk is not None else None,
        vm_cpus=vm_cpus,
        vm_mb=vm_mb,
        headroom_mb=fl.headroom_mb,
        flexible=frozenset(k for k, v in (("cpus", r.cpus), ("memory_mb", r.memory)) if isinstance(v, Share)),
        notes=(*notes, *memory_notes),
    )


def registry(profile: Profile) -> dict[str, Any] | None:
    reg = profile.registry
    if not reg.enabled:
        return None
    return {"name": reg.name, "host": reg.host, "port": reg.port, "image": reg.image, "in_cluster": reg.in_cluster}


def make_plan(profile: Profile, facts: Facts) -> Plan:
    """Sizes, then the product's part, then the preflight: the planned cluster judged by the checks."""
    provider = provider_for(profile.provider)
    sizes = size(profile, facts.engine)
    ours = provider.plan_cluster(profile, sizes, facts.tools.get(provider.name))
    plan = Plan(
        profile=profile.name,
        provider=provider.name,
        cluster=profile.cluster_name,
        context=ours.context,
        kubernetes_version=ours.kubernetes_version,
        node_image=ours.node_image,
        cpus=sizes.cpus,
        memory_mb=sizes.memory_mb,
        disk_mb=sizes.disk_mb,
        nodes=profile.nodes,
        runtime=profile.runtime,
        addons=list(profile.addons),
        registry=registry(profile),
        kind_config=ours.config,
        create=ours.create,
        vm={"cpus": sizes.vm_cpus, "memory_mb": sizes.vm_mb, "product": facts.engine.product if facts.engine else None},
        spec=profile.spec(sections=provider.profile_sections),
        flexible=set(sizes.flexible),
        immutable={
            "provider": provider.name,
            "kubernetes_version": ours.kubernetes_version,
            "nodes": profile.nodes,
            **ours.immutable,
        },
    )
    plan.preflight = [*preflight(plan, facts, provider), *sizes.notes, *ours.notes]
    return plan
