"""KD6xx: what minikube profiles and kind clusters ask of the engine VM."""

from __future__ import annotations

from collections.abc import Iterator

from kdoctor.checks.catalogue import Ctx, check
from kdoctor.facts.model import MIB, Facts, MinikubeProfile
from kdoctor.report.model import Finding, Severity

KIC_DRIVERS = {"docker", "podman"}


def _kic(p: MinikubeProfile) -> bool:
    return (p.driver or "").lower() in KIC_DRIVERS


def _unsized(profiles: list[MinikubeProfile]) -> list[str]:
    """Profiles whose config says neither memory nor CPUs: nothing was judged, so nothing is "ok"."""
    return [p.name for p in profiles if p.memory_mb is None and p.cpus is None]


def _none_found(c: Ctx, profiles: list[MinikubeProfile], ok: str) -> Finding:
    unknown = _unsized(profiles)
    if unknown:
        names = ", ".join(repr(n) for n in unknown)
        return c.info(f"the size of minikube profile(s) {names} is unknown (not in their config): not judged")
    return c.ok(ok if profiles else "no minikube profiles")


@check("KD601", needs=("minikube", "host"))
def profile_exceeds_vm(facts: Facts, c: Ctx) -> Iterator[Finding]:
    """minikube's own "has only N MB memory but you specified M MB", before it happens. A VM-driver profile
    (qemu2, vfkit, krunkit...) is judged against this Mac without asking for a container engine."""
    mk, e, h = facts.minikube, facts.engine, facts.host
    assert mk is not None and h is not None
    vm_mb = facts.vm_memory_mb()
    found = False
    for p in mk.profiles:
        data = {"profile": p.name, "memory_mb": p.memory_mb, "cpus": p.cpus}
        if _kic(p):
            if vm_mb is None:
                found = True
                yield c.info(
                    f"profile {p.name!r} uses the {p.driver} driver but "
                    + ("the engine did not report its memory" if e and e.reachable else "the engine is not reachable")
                    + ", so its size was not compared with the VM",
                    subject=p.name,
                    data=data,
                )
                continue
            limit_mb, limit_cpus, where = vm_mb, e.ncpu if e else None, "the Docker VM"
        else:
            limit_mb, limit_cpus, where = h.memory_total // MIB, h.cpus, "this Mac"
        total_mb = (p.memory_mb or 0) * p.nodes
        if p.memory_mb and total_mb > limit_mb:
            found = True
            yield c.problem(
                f"profile {p.name!r} asks {p.memory_mb} MB"
                f"{f' x {p.nodes} nodes' if p.nodes > 1 else ''} but {where} has only {limit_mb} MB",
                subject=p.name,
                data={**data, "limit_mb": limit_mb},
            )
        if p.cpus and limit_cpus and p.cpus > limit_cpus:
            found = True
            yield c.problem(
                f"profile {p.name!r} asks {p.cpus} CPUs but {where} has only {limit_cpus}",
                subject=p.name,
                data={**data, "limit_cpus": limit_cpus},
            )
    if not found:
        yield _none_found(c, mk.profiles, "every minikube profile fits its VM")


@check("KD602", needs=("minikube",))
def profile_below_floor(facts: Facts, c: Ctx) -> Iterator[Finding]:
    mk = facts.minikube
    assert mk is not None
    min_mb, rec_mb, min_cpus = (
        c.threshold("min_memory_mb"),
        c.threshold("recommended_memory_mb"),
        c.threshold("min_cpus"),
    )
    found = False
    for p in mk.profiles:
        data = {"profile": p.name, "memory_mb": p.memory_mb, "cpus": p.cpus}
        # 0 means "no-limit" on the kic drivers: not a floor problem.
        if p.memory_mb and p.memory_mb < min_mb:
            found = True
            yield c.problem(
                f"profile {p.name!r} gives each node {p.memory_mb} MB; kubeadm will not start below {min_mb} MB",
                subject=p.name,
                data=data,
            )
        elif p.memory_mb and p.memory_mb < rec_mb:
            found = True
            yield c.problem(
                f"profile {p.name!r} gives each node {p.memory_mb} MB, below the recommended "
                f"{rec_mb} MB: deployments may fail",
                subject=p.name,
                severity=Severity.WARNING,
                data=data,
            )
        if p.cpus and p.cpus < min_cpus:
            found = True
            yield c.problem(
                f"profile {p.name!r} asks {p.cpus} CPU(s); minikube requires at least {min_cpus}",
                subject=p.name,
                data=data,
            )
    if not found:
        yield _none_found(c, mk.profiles, "every minikube profile is above minikube's floors")


@check("KD603", needs=("minikube", "engine:reachable"))
def profile_no_headroom(facts: Facts, c: Ctx) -> Iterator[Finding]:
    mk = facts.minikube
    assert mk is not None
    vm = facts.vm_memory_mb()
    if vm is None and any(_kic(p) for p in mk.profiles):
        yield c.info("the engine did not report its memory: the profiles' headroom was not compared")
        return
    vm_mb = vm or 0
    headroom = c.threshold("headroom_mb")
    found = False
    for p in mk.profiles:
        if not _kic(p) or not p.memory_mb:
            continue
        total = p.memory_mb * p.nodes
        if vm_mb - headroom < total <= vm_mb:
            found = True
            yield c.problem(
                f"profile {p.name!r} takes {total} MB of the VM's {vm_mb} MB, leaving less than "
                f"{headroom} MB for the engine and other containers",
                subject=p.name,
                data={"profile": p.name, "memory_mb": total, "vm_memory_mb": vm_mb},
            )
    if not found:
        yield _none_found(c, [p for p in mk.profiles if _kic(p)], "minikube profiles leave the VM headroom")


@check("KD604", needs=("kind", "engine:reachable"))
def kind_nodes_vs_vm(facts: Facts, c: Ctx) -> Iterator[Finding]:
    kd = facts.kind
    assert kd is not None
    per_node = c.threshold("per_node_mb")
    nodes = sum(len(cl.nodes) for cl in kd.clusters)
    vm = facts.vm_memory_mb()
    if nodes and vm is None:
        yield c.info(f"{nodes} kind node(s), but the engine did not report its memory: not compared")
        return
    vm_mb = vm or 0
    if nodes and nodes * per_node > vm_mb:
        yield c.problem(
            f"{nodes} kind node(s) in {len(kd.clusters)} cluster(s) need about {nodes * per_node} MB "
            f"but the VM has {vm_mb} MB",
            data={"nodes": nodes, "vm_memory_mb": vm_mb},
        )
    else:
        yield c.ok(f"{nodes} kind node(s) fit in {vm_mb} MB" if nodes else "no kind nodes")
