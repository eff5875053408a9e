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
    "docker-engine": "Docker Engine",
    "unknown": "the container engine",
}


def product_name(e: EngineFacts) -> str:
    name = PRODUCT_NAMES[e.product]
    return f"{name} {e.product_version}" if e.product_version else name


@check("KD301", needs=("engine",))
def engine_reachable(facts: Facts, c: Ctx) -> Iterator[Finding]:
    e = facts.engine
    assert e is not None
    if e.reachable:
        yield c.ok(
            f"{product_name(e)} (engine {e.server_version}) answers: {e.ncpu} CPUs, {gib(e.mem_total or 0)}, {e.arch}",
            data={"product": e.product},
        )
    else:
        yield c.problem(f"no container engine answers: {e.error or 'unknown reason'}", data={"error": e.error})


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
    else:
        yield c.ok(f"engine VM is {e.arch}")


@check("KD303", needs=("engine:reachable",))
def engine_too_small(facts: Facts, c: Ctx) -> Iterator[Finding]:
    e = facts.engine
    assert e is not None
    if e.ncpu is None or e.mem_total is None:
        yield c.info("the engine did not report its CPUs and memory")
        return
    min_cpus, min_mb, rec_mb = (
        c.threshold("min_cpus"),
        c.threshold("min_memory_mib"),
        c.threshold("recommended_memory_mib"),
    )
    mem_mb = e.mem_total // MIB
    data = {"ncpu": e.ncpu, "memory_mib": mem_mb}
    if e.ncpu < min_cpus:
        yield c.problem(f"{product_name(e)} has {e.ncpu} CPU(s); Kubernetes needs at least {min_cpus}", data=data)
    if mem_mb < min_mb:
        yield c.problem(
            f"{product_name(e)} has {mem_mb} MiB of memory, less than the {min_mb} MiB Kubernetes needs to start",
            data=data,
        )
    elif mem_mb < rec_mb:
        yield c.problem(
            f"{product_name(e)} has {mem_mb} MiB of memory; below {rec_mb} MiB the control "
            "plane and your workloads will thrash",
            severity=Severity.WARNING,
            data=data,
        )
    if e.ncpu >= min_cpus and mem_mb >= rec_mb:
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


# (product, version) -> (severity, why). Sources: emulation-minikube-kind.md §2.3 and §1.5.
KNOWN_BAD = {
    ("docker-desktop", "4.34.0"): (
        "error",
        "Docker Desktop 4.34.0 has a regression that stops minikube listing "
        "its containers (docker/cli#5412); minikube refuses it",
    ),
    ("docker-desktop", "4.16.0"): ("error", "minikube refuses Docker Desktop 4.16.0"),
    ("docker-desktop", "4.27.0"): (
        "warning",
        "Rosetta is broken in Docker Desktop 4.27.0: amd64 containers fail "
        "with `exec format error` (docker/for-mac#7147)",
    ),
}


@check("KD305", needs=("engine",))
def known_bad_engine(facts: Facts, c: Ctx) -> Iterator[Finding]:
    e = facts.engine
    assert e is not None
    bad = KNOWN_BAD.get((e.product, e.product_version or ""))
    if bad:
        yield c.problem(
            f"{product_name(e)}: {bad[1]}",
            severity=Severity(bad[0]),
            data={"product": e.product, "version": e.product_version},
        )
    elif e.product_version:
        yield c.ok(f"{product_name(e)} has no known regression for local clusters")
    else:
        yield c.ok("no known-bad engine release detected")


@check("KD306", needs=("engine",))
def engine_settings_unreadable(facts: Facts, c: Ctx) -> Iterator[Finding]:
    e = facts.engine
    assert e is not None
    bad = [s for s in (e.docker_desktop, e.colima) if s is not None and s.error]
    for s in bad:
        yield c.problem(f"{s.path}: {s.error}", subject=s.path, data={"path": s.path})
    if not bad:
        yield c.ok("engine settings files are readable (or absent)")
