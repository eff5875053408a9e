"""KD1xx: the Mac itself."""

from __future__ import annotations

from collections.abc import Iterator

from kdoctor.checks.catalogue import Ctx, check
from kdoctor.facts.model import GIB, Facts, gib
from kdoctor.report.model import Finding, Severity


@check("KD101", needs=("host",))
def python_under_rosetta(facts: Facts, c: Ctx) -> Iterator[Finding]:
    h = facts.host
    assert h is not None
    if h.python_translated:
        yield c.problem(
            "kdoctor's own Python is an x86_64 build running under Rosetta "
            "(an Intel Homebrew or installer under /usr/local)",
            data={"python_translated": True},
        )
    elif h.python_translated is None and h.os == "darwin":
        yield c.problem("sysctl did not say whether this Python runs under Rosetta", severity=Severity.SKIPPED)
    else:
        yield c.ok()


@check("KD102", needs=("host",))
def apple_silicon_host(facts: Facts, c: Ctx) -> Iterator[Finding]:
    h = facts.host
    assert h is not None
    if facts.apple_silicon():
        chip = h.apple_chip or "Apple Silicon"
        yield c.ok(f"{chip}, macOS {h.os_version or '?'}, {h.cpus} CPUs, {gib(h.memory_total)}")
    else:
        yield c.info(
            f"this host is {h.os}/{h.arch}, not an Apple Silicon Mac; "
            "emulation checks are judged for this host's architecture"
        )


@check("KD103", needs=("host",))
def host_memory(facts: Facts, c: Ctx) -> Iterator[Finding]:
    h = facts.host
    assert h is not None
    floor = c.threshold("min_host_memory_gib")
    if not h.memory_total:
        yield c.info("the host's memory could not be read")
    elif h.memory_total < floor * GIB:
        yield c.problem(
            f"the host has {gib(h.memory_total)} of memory; a local cluster beside macOS needs "
            f"at least {floor} GiB to stay responsive",
            data={"memory_total": h.memory_total},
        )
    else:
        yield c.ok(f"{gib(h.memory_total)} of memory")


@check("KD104", needs=("host",))
def disk_free(facts: Facts, c: Ctx) -> Iterator[Finding]:
    h = facts.host
    assert h is not None
    floor = c.threshold("min_free_disk_gib")
    if h.disk_free is None:
        yield c.info("free disk space could not be read")
    elif h.disk_free < floor * GIB:
        yield c.problem(
            f"only {gib(h.disk_free)} free on the home volume; images and the node's disk need at least {floor} GiB",
            data={"disk_free": h.disk_free},
        )
    else:
        yield c.ok(f"{gib(h.disk_free)} free")
