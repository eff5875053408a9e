"""The one decision of the target platform and the emulator a foreign-architecture image meets.

Used by `kdoctor images`, diagnose's cluster-images phase (KD801) and `kdoctor why`, so the three never
disagree. The architecture comes from, in order: the --platform flag, the cluster's nodes (their
majority), the engine VM, the host. The emulator comes from --emulator, else from detection (binfmt_misc
in a running node, else the engine product's settings; see facts/emulation.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from kdoctor.errors import UsageError
from kdoctor.platforms import Platform
from kdoctor.runner import Runner
from kdoctor.tools.kubectl import majority_arch

if TYPE_CHECKING:
    from kdoctor.facts.model import EmulationFacts, EngineFacts, Facts

# The probes (facts.engine, facts.host, facts.emulation) and the pydantic fact models they build are imported
# only where a flag leaves something to detect: `kdoctor images --platform P --emulator E` needs none of
# them, and importing them costs ~0.1 s of start-up (measured: `python -X importtime`, README Performance 7).

AUTO = "auto"


@dataclass(frozen=True)
class Target:
    platform: Platform  # as given (--platform) or linux/<arch> of the nodes, the engine or the host
    emulator: str  # what a foreign image meets: qemu | rosetta | fex | none | unknown
    source: str  # where the emulator answer came from: --emulator, binfmt:<node>, colima.yaml, …


def choose_arch(node_arch: str | None, eng: EngineFacts | None, host_arch: str | None) -> str:
    engine_arch = eng.arch if eng is not None and eng.reachable else None
    return node_arch or engine_arch or host_arch or "arm64"


def parse_platform(want_platform: str | None) -> Platform | None:
    """The --platform flag, parsed once; raises UsageError (exit 2) on a malformed one, before any probe runs."""
    if want_platform is None:
        return None
    try:
        return Platform.parse(want_platform)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def decide(
    *,
    want_platform: Platform | None,
    want_emulator: str,
    node_arch: str | None,
    eng: EngineFacts | None,
    emu: EmulationFacts | None,
    host_arch: str | None,
) -> Target:
    """Pure: the target from what is known. A given flag always wins over detection."""
    platform = want_platform or Platform.parse(f"linux/{choose_arch(node_arch, eng, host_arch)}")
    if want_emulator != AUTO:
        return Target(platform, want_emulator, "--emulator")
    if emu is None:
        return Target(platform, "unknown", "none")
    from kdoctor.facts import emulation

    return Target(platform, emulation.foreign_emulator(emu.emulator), emu.source)


def detect(runner: Runner, *, want_platform: Platform | None, want_emulator: str, node_arch: str | None) -> Target:
    """Probe only what the flags leave open (the engine, binfmt through a node, the host), then decide.
    The caller parses --platform with `parse_platform` first, so a malformed one is refused before any probe."""
    eng = None
    if want_platform is None or want_emulator == AUTO:
        from kdoctor.facts import engine

        eng = engine.probe_engine(runner)
    host_arch = None
    if not want_platform and not node_arch and not (eng is not None and eng.reachable and eng.arch):
        from kdoctor.facts import host

        host_arch = host.probe_host(runner).arch
    emu = None
    if want_emulator == AUTO:
        from kdoctor.facts import emulation

        node, entries, why = emulation.read_node_binfmt(runner) if eng and eng.reachable else (None, None, None)
        emu = emulation.resolve_emulator(eng, node, entries, why)
    return decide(
        want_platform=want_platform,
        want_emulator=want_emulator,
        node_arch=node_arch,
        eng=eng,
        emu=emu,
        host_arch=host_arch,
    )


def from_facts(facts: Facts) -> Target:
    """The target for the cluster diagnose looked at: its nodes, else its engine, else this host."""
    nodes = facts.kubectl.nodes if facts.kubectl else []
    return decide(
        want_platform=None,
        want_emulator=AUTO,
        node_arch=majority_arch([n.arch for n in nodes]),
        eng=facts.engine,
        emu=facts.emulation,
        host_arch=facts.host.arch if facts.host else None,
    )
