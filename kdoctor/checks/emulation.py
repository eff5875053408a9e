"""KD4xx: what runs linux/amd64 code in the engine VM, and what that means for amd64-only images."""

from __future__ import annotations

from collections.abc import Iterator

from kdoctor.checks.catalogue import Ctx, check
from kdoctor.facts.model import Facts
from kdoctor.report.model import Finding, Severity


def _source(facts: Facts) -> str:
    em = facts.emulation
    return f" (from {em.source})" if em and em.source != "none" else ""


@check("KD401", needs=("emulation:known",))
def qemu_go_crash(facts: Facts, c: Ctx) -> Iterator[Finding]:
    em = facts.emulation
    assert em is not None
    if em.emulator == "qemu":
        yield c.problem(
            f"amd64 containers run under QEMU user-mode emulation{_source(facts)}: amd64-only "
            "images with Go programs built before Go 1.25.4 crash at start "
            "(`fatal error: lfstack.push` / `taggedPointerPack`)",
            data={"emulator": "qemu", "source": em.source},
        )
    elif em.emulator == "rosetta":
        yield c.ok(
            f"amd64 containers run under Rosetta{_source(facts)}: fast, and the Go pointer-packing "
            "crash is rare (only Go >= 1.25.4 or arm64 images rule it out)"
        )
    elif em.emulator == "native":
        yield c.ok(em.detail or "amd64 code runs natively on this engine")
    else:
        yield c.ok(f"emulator: {em.emulator}{_source(facts)}")


@check("KD402", needs=("emulation",))
def libkrun_no_rosetta(facts: Facts, c: Ctx) -> Iterator[Finding]:
    em = facts.emulation
    assert em is not None
    e = facts.engine
    if em.libkrun:
        yield c.problem(
            "Docker Desktop uses Docker VMM (libkrun), which cannot use Rosetta: amd64 "
            "containers go through QEMU whatever the Rosetta setting says"
        )
    elif e is not None and e.product == "docker-desktop" and (e.docker_desktop is None or e.docker_desktop.error):
        # Only Docker Desktop's settings say whether it runs Docker VMM; they were not read.
        yield c.info("Docker Desktop's settings were not read: Docker VMM (libkrun) not checked")
    elif e is not None and e.product == "podman" and e.vm_type is None:
        # A Podman machine may run on libkrun; its provider was not read, so this was not checked.
        yield c.problem("the Podman machine's provider was not read: libkrun not checked", severity=Severity.SKIPPED)
    elif e is None or e.product == "unknown":
        # No product known: nothing says whether a Docker VMM could be in play, so this was not checked (issue 25,
        # class 11: it spoke of Docker Desktop's settings on machines with no Docker Desktop).
        yield c.problem(
            "which product runs the engine is not known: Docker VMM (libkrun) not checked", severity=Severity.SKIPPED
        )
    else:
        yield c.ok("not running on libkrun / Docker VMM")


@check("KD403", needs=("emulation:known",))
def no_emulator(facts: Facts, c: Ctx) -> Iterator[Finding]:
    em = facts.emulation
    assert em is not None
    if em.emulator == "none":
        yield c.problem(
            f"no amd64 emulator is registered in the engine VM{_source(facts)}: amd64-only images "
            "fail with `exec format error`",
            data={"source": em.source},
        )
    else:
        yield c.ok(
            f"an amd64 emulator is available ({em.emulator})"
            if em.emulator not in ("native", "unknown")
            else f"emulator: {em.emulator}"
        )


@check("KD404", needs=("emulation",))
def emulator_unknown(facts: Facts, c: Ctx) -> Iterator[Finding]:
    em = facts.emulation
    assert em is not None
    if em.emulator == "unknown":
        yield c.info(f"kdoctor could not tell which emulator runs amd64 code: {em.detail or 'nothing said'}")
    else:
        yield c.ok(f"emulator detected: {em.emulator}{_source(facts)}")
