"""Small helpers shared by check modules."""

from __future__ import annotations

from kdoctor.facts.model import Facts

MIB = 1024 * 1024
GIB = 1024 * MIB


def apple_silicon(facts: Facts) -> bool:
    h = facts.host
    return bool(h and (h.apple_silicon or (h.os == "darwin" and h.arch == "arm64")))


def host_arch(facts: Facts) -> str | None:
    return facts.host.arch if facts.host else None


def gib(n: float) -> str:
    return f"{n / GIB:.1f} GiB"


def vm_memory_mb(facts: Facts) -> int | None:
    e = facts.engine
    if e is None or not e.reachable or not e.mem_total:
        return None
    return e.mem_total // MIB
