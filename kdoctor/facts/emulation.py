"""Which emulator runs linux/amd64 code in the engine VM.

binfmt_misc is kernel-global in the VM, so a kind or minikube node container already running
shows the table every pod will use; kdoctor reads it with `docker exec` and pulls nothing.
Without a node, the product's own settings say what it registers.
"""

from __future__ import annotations

from kdoctor.facts.model import BinfmtEntry, EmulationFacts, EngineFacts
from kdoctor.runner import Runner
from kdoctor.tools.docker import NODE_LABELS, ps_rows, run_docker
from kdoctor.vocabulary import Emulator

# A handler's kind comes from the first of these its name or interpreter names; when a node has several x86_64
# handlers enabled, the first kind present is the one reported.
_BY_PRECEDENCE = (Emulator.ROSETTA, Emulator.QEMU, Emulator.FEX, Emulator.UNKNOWN)

BINFMT_DIR = "/proc/sys/fs/binfmt_misc"
# e_machine 0x3e (x86-64) at byte 18 of an ELF header, as binfmt magic hex.
_X86_64_MAGIC_TAIL = "3e00"


def parse_binfmt_grep(text: str) -> list[BinfmtEntry]:
    """Parse `grep -rH '' /proc/sys/fs/binfmt_misc/` output into entries."""
    raw: dict[str, dict[str, str]] = {}
    for line in text.splitlines():
        path, sep, value = line.partition(":")
        if not sep or not path.startswith(BINFMT_DIR + "/"):
            continue
        name = path[len(BINFMT_DIR) + 1 :]
        if name in ("status", "register") or "/" in name:
            continue
        entry = raw.setdefault(name, {})
        value = value.strip()
        if value in ("enabled", "disabled"):
            entry["state"] = value
        elif " " in value:
            key, _, rest = value.partition(" ")
            entry[key.rstrip(":")] = rest.strip()
    return [
        BinfmtEntry(
            name=name,
            enabled=fields.get("state") == "enabled",
            interpreter=fields.get("interpreter"),
            flags=fields.get("flags"),
            magic=fields.get("magic"),
        )
        for name, fields in sorted(raw.items())
    ]


def _handles_x86_64(entry: BinfmtEntry) -> bool:
    if entry.magic:
        return entry.magic.lower().startswith("7f454c4602") and entry.magic.lower().endswith(_X86_64_MAGIC_TAIL)
    return "x86_64" in entry.name or entry.name == "rosetta"


def emulator_from_binfmt(entries: list[BinfmtEntry]) -> str:
    """Rosetta if an enabled rosetta entry exists, else QEMU, else FEX, else none."""
    enabled = [e for e in entries if e.enabled and _handles_x86_64(e)]
    kinds: list[Emulator] = []
    for e in enabled:
        name, interp = e.name.lower(), (e.interpreter or "").lower()
        kind = next((k for k in _BY_PRECEDENCE[:-1] if k.value in name or k.value in interp), Emulator.UNKNOWN)
        kinds.append(kind)
    for kind in _BY_PRECEDENCE:
        if kind in kinds:
            return kind.value
    return Emulator.NONE.value


def read_node_binfmt(runner: Runner) -> tuple[str | None, list[BinfmtEntry] | None, str | None]:
    """(container, entries, why-not). Reads through a running node container; pulls nothing."""
    ps = run_docker(runner, ["ps", "--filter", "status=running", "--format", "{{json .}}"])
    if not ps.ok:
        return None, None, ps.why()
    for labels, row in ps_rows(ps.stdout):
        name = str(row.get("Names") or row.get("ID") or "")
        if not name or not set(labels) & set(NODE_LABELS):
            continue
        res = run_docker(runner, ["exec", name, "grep", "-rH", "", BINFMT_DIR + "/"], timeout=8)
        if res.stdout.strip():
            return name, parse_binfmt_grep(res.stdout), None
        return name, None, f"binfmt_misc is not readable in {name}: {res.why()}"
    return None, None, "no kind or minikube node container is running"


def foreign_emulator(emulator: str) -> str:
    """The emulator a foreign-architecture image meets. "native" means the engine VM is x86_64, so amd64 runs
    natively there; for any other architecture nothing is known."""
    return "unknown" if emulator == "native" else emulator


def resolve_emulator(
    engine: EngineFacts | None,
    node: str | None,
    entries: list[BinfmtEntry] | None,
    why_not: str | None,
) -> EmulationFacts:
    """Combine binfmt (authoritative) with the product's settings (a documented default)."""
    libkrun = bool(
        engine
        and engine.docker_desktop
        and engine.docker_desktop.use_libkrun
        and engine.product in ("docker-desktop", "unknown")
    )
    if engine is not None and engine.arch == "x86_64":
        return EmulationFacts(
            emulator="native",
            source="engine-arch",
            binfmt=entries,
            detail="the engine VM is x86_64: amd64 images run natively"
            + (f" (binfmt_misc read through {node})" if node and entries is not None else ""),
        )
    if entries is not None and node:
        emulator = emulator_from_binfmt(entries)
        return EmulationFacts(emulator=emulator, source=f"binfmt:{node}", binfmt=entries, libkrun=libkrun)
    if engine is None or not engine.reachable:
        return EmulationFacts(emulator="unknown", source="none", detail="the container engine is not reachable")
    dd = engine.docker_desktop
    if engine.product == "docker-desktop" and dd is not None and dd.error is None:
        if dd.use_libkrun:
            return EmulationFacts(
                emulator="qemu",
                source="docker-desktop-settings",
                libkrun=True,
                detail="Docker VMM (libkrun) has no Rosetta; amd64 runs under QEMU",
            )
        vz = dd.use_virtualization_framework is not False  # default true
        rosetta = dd.use_rosetta is not False  # default true on macOS 13+
        emulator = "rosetta" if vz and rosetta else "qemu"
        return EmulationFacts(emulator=emulator, source="docker-desktop-settings", detail=why_not)
    if engine.product == "colima" and engine.colima is not None and engine.colima.error is None:
        c = engine.colima
        if c.arch in ("x86_64", "amd64"):
            return EmulationFacts(emulator="native", source="colima.yaml", detail="colima runs an x86_64 VM")
        vz = (c.vm_type or "vz") == "vz"
        if vz and c.rosetta:
            return EmulationFacts(emulator="rosetta", source="colima.yaml", detail=why_not)
        if c.binfmt is False:
            return EmulationFacts(emulator="none", source="colima.yaml", detail="colima binfmt: false")
        return EmulationFacts(emulator="qemu", source="colima.yaml", detail=why_not)
    lm = engine.lima
    if engine.product in ("rancher-desktop", "lima") and lm is not None and lm.error is None:
        if lm.arch in ("x86_64", "amd64"):
            return EmulationFacts(emulator="native", source="lima.yaml", detail="the Lima VM is x86_64")
        if lm.vm_type == "vz" and lm.rosetta:
            return EmulationFacts(emulator="rosetta", source="lima.yaml", detail=why_not)
        return EmulationFacts(
            emulator="unknown",
            source="lima.yaml",
            detail=f"lima.yaml: vmType {lm.vm_type or 'default'}, Rosetta {'on' if lm.rosetta else 'off'}; "
            f"what handles amd64 is read from binfmt_misc once a node runs ({why_not})",
        )
    if engine.product == "podman" and engine.vm_type == "libkrun":
        # libkrun has no Rosetta (libkrun/libkrun#274); amd64 goes through QEMU (podman-desktop#11558).
        return EmulationFacts(emulator="qemu", source="podman machine provider", detail="libkrun has no Rosetta")
    if engine.product == "orbstack":
        return EmulationFacts(
            emulator="rosetta", source="product", detail="OrbStack uses Rosetta unless it is turned off in its settings"
        )
    return EmulationFacts(emulator="unknown", source="none", detail=why_not)
