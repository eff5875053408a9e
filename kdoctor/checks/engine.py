"""KD3xx: the container engine and its VM."""

from __future__ import annotations

from collections.abc import Iterator

from kdoctor.checks.catalogue import Ctx, check
from kdoctor.facts.model import GIB, MIB, EngineFacts, Facts, gib
from kdoctor.report.model import Finding, Severity

PRODUCT_NAMES = {
    "docker-desktop": "Docker Desktop",
    "orbstack": "OrbStack",
    "colima": "Colima",
    "rancher-desktop": "Rancher Desktop",
    "podman": "Podman",
    "lima": "Lima",
    "docker-engine": "Docker Engine",
    "unknown": "the container engine",
}


def product_name(e: EngineFacts) -> str:
    name = PRODUCT_NAMES[e.product]
    return f"{name} {e.product_version}" if e.product_version else name


# minikube drivers that run the node as a container of the engine (the rest run their own VM).
KIC_DRIVERS = {"docker", "podman"}


def engine_users(facts: Facts) -> list[str]:
    """What on this machine runs on the container engine: kic-driver minikube profiles, kind."""
    users = [
        f"minikube profile {p.name!r} ({p.driver} driver)"
        for p in (facts.minikube.profiles if facts.minikube else [])
        if (p.driver or "").lower() in KIC_DRIVERS
    ]
    kind = facts.tools.get("kind")
    if (kind and kind.path) or (facts.kind and facts.kind.clusters):
        users.append("kind")
    return users


def size_words(e: EngineFacts) -> str:
    """ "4 CPUs, 7.7 GiB, arm64" with only the parts the engine said."""
    parts = [f"{e.ncpu} CPUs" if e.ncpu else "", gib(e.mem_total) if e.mem_total else "", e.arch or ""]
    said = ", ".join(p for p in parts if p)
    return said or "its size and architecture not reported"


@check("KD301", needs=("engine",))
def engine_reachable(facts: Facts, c: Ctx) -> Iterator[Finding]:
    e = facts.engine
    assert e is not None
    if e.reachable:
        engine = f" (engine {e.server_version})" if e.server_version else ""
        vm = f", VM type {e.vm_type}" if e.vm_type else ""
        yield c.ok(f"{product_name(e)}{engine} answers: {size_words(e)}{vm}", data={"product": e.product})
        return
    why = e.error or "unknown reason"
    users = engine_users(facts)
    data = {"error": e.error, "needed_by": users}
    if users:
        yield c.problem(f"no container engine answers: {why}; needed by {', '.join(users)}", data=data)
        return
    docker = facts.tools.get("docker")
    if docker is not None and docker.path:
        # Only the docker CLI itself would use it: docker commands fail, but no cluster here depends on it.
        yield c.problem(
            f"no container engine answers: {why}; `docker` commands will fail (no cluster here needs the engine)",
            severity=Severity.WARNING,
            data=data,
        )
        return
    # Nothing here runs on the engine (a VM-driver minikube, or no cluster tool yet): not a failure.
    others = [
        f"minikube profile {p.name!r} uses the {p.driver} driver, which runs its own VM"
        for p in (facts.minikube.profiles if facts.minikube else [])
    ]
    yield c.info(
        f"no container engine answers ({why}); nothing found here needs one"
        + (f": {'; '.join(others)}" if others else ""),
        data=data,
    )


@check("KD302", needs=("host", "engine:reachable"))
def engine_arch(facts: Facts, c: Ctx) -> Iterator[Finding]:
    e = facts.engine
    assert e is not None
    if facts.apple_silicon() and e.arch == "x86_64":
        yield c.problem(
            f"{product_name(e)} runs an x86_64 VM on this Apple Silicon Mac: every container, "
            "the Kubernetes node included, is emulated",
            data={"engine_arch": e.arch},
        )
    elif e.arch is None:
        yield c.info("the engine did not report its architecture")
    else:
        yield c.ok(f"engine VM is {e.arch}")


@check("KD303", needs=("engine:reachable",))
def engine_too_small(facts: Facts, c: Ctx) -> Iterator[Finding]:
    e = facts.engine
    assert e is not None
    if e.ncpu is None and e.mem_total is None:
        yield c.info("the engine did not report its CPUs and memory")
        return
    min_cpus, min_mb, rec_mb = (
        c.threshold("min_cpus"),
        c.threshold("min_memory_mib"),
        c.threshold("recommended_memory_mib"),
    )
    # Each figure the engine did report is judged; one it did not is never called fine.
    mem_mb = e.mem_total // MIB if e.mem_total is not None else None
    data = {"ncpu": e.ncpu, "memory_mib": mem_mb}
    found = False
    if e.ncpu is not None and e.ncpu < min_cpus:
        found = True
        yield c.problem(f"{product_name(e)} has {e.ncpu} CPU(s); Kubernetes needs at least {min_cpus}", data=data)
    if mem_mb is not None and mem_mb < min_mb:
        found = True
        yield c.problem(
            f"{product_name(e)} has {mem_mb} MiB of memory, less than the {min_mb} MiB Kubernetes needs to start",
            data=data,
        )
    elif mem_mb is not None and mem_mb < rec_mb:
        found = True
        yield c.problem(
            f"{product_name(e)} has {mem_mb} MiB of memory; below {rec_mb} MiB the control "
            "plane and your workloads will thrash",
            severity=Severity.WARNING,
            data=data,
        )
    if found:
        return
    if e.ncpu is None or mem_mb is None:
        said = f"{e.ncpu} CPUs" if e.ncpu is not None else f"{mem_mb} MiB"
        yield c.info(f"{said}; the engine did not report its {'CPUs' if e.ncpu is None else 'memory'}", data=data)
    else:
        yield c.ok(f"{e.ncpu} CPUs, {mem_mb} MiB", data=data)


@check("KD304", needs=("host", "engine:reachable"))
def vm_starves_host(facts: Facts, c: Ctx) -> Iterator[Finding]:
    e, h = facts.engine, facts.host
    assert e is not None and h is not None
    if not e.mem_total or not h.memory_total:
        yield c.info("the engine did not report its memory")
        return
    if h.os != "darwin":
        yield c.ok("the engine shares this host's kernel; no VM to size")
        return
    reserve = c.threshold("host_reserve_gib") * GIB
    if e.mem_total > h.memory_total - reserve:
        yield c.problem(
            f"the engine VM has {gib(e.mem_total)} of this Mac's {gib(h.memory_total)}, leaving "
            f"macOS less than {c.threshold('host_reserve_gib')} GiB",
            data={"vm_memory": e.mem_total, "host_memory": h.memory_total},
        )
    else:
        yield c.ok(f"the VM leaves macOS {gib(h.memory_total - e.mem_total)}")


@check("KD305", needs=("engine",))
def known_bad_engine(facts: Facts, c: Ctx) -> Iterator[Finding]:
    e = facts.engine
    assert e is not None
    # The releases and what to say of them are data: checks/KD305.yaml, each with its public source.
    table = c.threshold("known_bad")
    bad = next((b for b in table if b["product"] == e.product and b["version"] == (e.product_version or "")), None)
    if bad:
        yield c.problem(
            f"{product_name(e)}: {bad['why']}",
            severity=Severity(bad["severity"]),
            data={"product": e.product, "version": e.product_version},
        )
    elif e.product_version:
        yield c.ok(f"{product_name(e)} has no known regression for local clusters")
    elif e.product in {b["product"] for b in table} or e.product == "unknown":
        # The table lists releases of this product (or the product is unknown) but the version was not read.
        yield c.info(f"{product_name(e)}'s version was not read: known-bad releases not checked")
    else:
        yield c.ok(f"no known-bad release of {product_name(e)} is listed")


@check("KD306", needs=("engine",))
def engine_settings_unreadable(facts: Facts, c: Ctx) -> Iterator[Finding]:
    e = facts.engine
    assert e is not None
    bad = [s for s in (e.docker_desktop, e.colima) if s is not None and s.error]
    for s in bad:
        yield c.problem(f"{s.path}: {s.error}", subject=s.path, data={"path": s.path})
    if not bad:
        yield c.ok("engine settings files are readable (or absent)")


@check("KD307", needs=("host", "vms"))
def vms_arm64(facts: Facts, c: Ctx) -> Iterator[Finding]:
    vms = facts.vms or []
    if not facts.apple_silicon():
        yield c.ok("not an Apple Silicon host")
        return
    running = [v for v in vms if (v.status or "").lower() == "running"]
    bad = [v for v in running if v.arch == "x86_64"]
    for v in bad:
        size = ", ".join(p for p in (f"{v.cpus} CPUs" if v.cpus else "", gib(v.memory) if v.memory else "") if p)
        yield c.problem(
            f"{v.product} VM {v.name!r} is x86_64 and running on this Apple Silicon Mac: QEMU emulates all of it"
            + (f" ({size})" if size else ""),
            subject=v.name,
            data=v.model_dump(),
        )
    if bad:
        return
    if not vms:
        yield c.ok("no Colima or Lima VMs")
    elif not running:
        yield c.ok(f"{len(vms)} Colima/Lima VM(s), none running")
    elif any(v.arch is None for v in running):
        yield c.info("a running Colima/Lima VM did not say its architecture")
    else:
        yield c.ok(", ".join(f"{v.product} {v.name!r} {v.arch}" for v in running))
