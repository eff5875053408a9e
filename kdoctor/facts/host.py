"""Host facts: OS, real CPU architecture, Apple chip, Rosetta translation, memory, CPUs, disk."""

from __future__ import annotations

import os
import platform
from pathlib import Path

import psutil

from kdoctor.facts.model import HostFacts
from kdoctor.platforms import facts_arch
from kdoctor.runner import Runner


def _sysctl(runner: Runner, name: str) -> str | None:
    res = runner.run(["sysctl", "-n", name], timeout=3)
    return res.stdout.strip() if res.ok and res.stdout.strip() else None


def probe_host(runner: Runner, *, system: str | None = None, home: Path | None = None) -> HostFacts:
    if system is None:
        # Asked through the runner (not os.uname) so that a replayed macOS answers like a Mac.
        res = runner.run(["uname", "-s"], timeout=3)
        system = res.stdout.strip() if res.ok and res.stdout.strip() else platform.system()
    system = system.lower()
    machine = platform.machine().lower()
    arch = facts_arch(machine) or machine
    facts = HostFacts(os=system, arch=arch)
    mem = psutil.virtual_memory()
    facts.memory_total, facts.memory_available = int(mem.total), int(mem.available)
    facts.cpus = psutil.cpu_count() or os.cpu_count() or 0
    try:
        facts.disk_free = int(psutil.disk_usage(str(home or Path.home())).free)
    except OSError:
        facts.disk_free = None
    if system == "darwin":
        # platform.machine() says x86_64 inside a Rosetta-translated Python; the kernel knows better.
        translated = _sysctl(runner, "sysctl.proc_translated")
        facts.python_translated = translated == "1" if translated is not None else None
        arm64 = _sysctl(runner, "hw.optional.arm64")
        if arm64 == "1":
            facts.arch = "arm64"
        if translated is None and arm64 is None:
            facts.failed = "sysctl did not answer (sysctl.proc_translated, hw.optional.arm64)"
        facts.apple_chip = _sysctl(runner, "machdep.cpu.brand_string")
        facts.apple_silicon = facts.arch == "arm64"
        ver = runner.run(["sw_vers", "-productVersion"], timeout=3)
        facts.os_version = ver.stdout.strip() if ver.ok else None
        memsize = _sysctl(runner, "hw.memsize")
        if memsize and memsize.isdigit():
            facts.memory_total = int(memsize)
    else:
        facts.os_version = platform.release()
    return facts
