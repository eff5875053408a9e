"""Podman: its own `podman info` and `podman machine inspect`, when the podman CLI is there.

A docker CLI pointed at a Podman machine (or a `docker` that is podman) answers in one of two shapes: Docker's
(through Podman's compat API; the product rules in checks/engines.yaml recognise it) or Podman's own `info`
document (host/store/version), read here. The machine's provider (applehv, libkrun, qemu) and its size come from
`podman machine inspect`.
"""

from __future__ import annotations

import json
from typing import Any

from kdoctor.facts.model import EngineFacts
from kdoctor.facts.values import whole_number
from kdoctor.platforms import facts_arch
from kdoctor.runner import Runner

# Podman machine providers on macOS (containers.conf(5) "provider"; containers/common#2200): applehv is Apple's
# Virtualization framework; libkrun has no Rosetta (libkrun/libkrun#274).
PROVIDERS = ("applehv", "libkrun", "qemu", "wsl", "hyperv")


def is_podman_info(data: dict[str, Any]) -> bool:
    """Podman's own `info` document (lower-case host/store/version sections), not Docker's flat one."""
    host = data.get("host")
    podman_keys = ("arch", "cpus", "memTotal")
    return isinstance(host, dict) and "ServerVersion" not in data and any(k in host for k in podman_keys)


def engine_from_podman_info(data: dict[str, Any]) -> EngineFacts:
    host = data.get("host") or {}
    version = data.get("version") or {}
    client = data.get("Client") or {}
    dist = host.get("distribution") or {}
    os_name = " ".join(str(dist.get(k)) for k in ("distribution", "version") if dist.get(k)) or None
    ver = version.get("Version") or client.get("Version")
    return EngineFacts(
        reachable=True,
        product="podman",
        product_version=str(ver) if ver else None,
        server_version=str(ver) if ver else None,
        name=host.get("hostname") if isinstance(host.get("hostname"), str) else None,
        operating_system=os_name,
        kernel_version=host.get("kernel") if isinstance(host.get("kernel"), str) else None,
        arch=facts_arch(host.get("arch")),
        ncpu=whole_number(host.get("cpus")),
        mem_total=whole_number(host.get("memTotal")),
        rootless=bool((host.get("security") or {}).get("rootless")),
    )


def machine_from_inspect(data: Any) -> dict[str, Any]:
    """{vm_type, ncpu, mem_total} of the first machine `podman machine inspect` printed (what it says only)."""
    machine = data[0] if isinstance(data, list) and data else data
    if not isinstance(machine, dict):
        return {}
    out: dict[str, Any] = {}
    vm_type = machine.get("VMType")
    if not isinstance(vm_type, str) or not vm_type:
        # Older/partial answers: the provider is the config directory's last part (…/podman/machine/applehv).
        path = str((machine.get("ConfigDir") or {}).get("Path") or "")
        tail = path.rstrip("/").rsplit("/", 1)[-1]
        vm_type = tail if tail in PROVIDERS else None
    out["vm_type"] = vm_type
    res = machine.get("Resources") or {}
    out["ncpu"] = whole_number(res.get("CPUs"))
    mem = whole_number(res.get("Memory"))  # MiB
    out["mem_total"] = mem * 1024 * 1024 if mem else None
    return out


def probe_podman(runner: Runner, timeout: float = 3.0) -> EngineFacts | None:
    """The podman CLI's own view, or None when it is not installed. Both questions go out together, so after a
    docker CLI that timed out (8 s) the engine probe still ends within its 12 s deadline."""
    from concurrent.futures import ThreadPoolExecutor

    podman = runner.which("podman")
    if podman is None:
        return None
    with ThreadPoolExecutor(2) as pool:
        ins_f = pool.submit(runner.run, [podman, "machine", "inspect"], timeout=timeout)
        res = runner.run([podman, "info", "--format", "json"], timeout=timeout)
        ins = ins_f.result()
    facts: EngineFacts
    try:
        data = json.loads(res.stdout) if res.ok and res.stdout.strip() else None
    except json.JSONDecodeError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("host"), dict):
        facts = engine_from_podman_info(data)
    else:
        lines = [ln for ln in res.stderr.strip().splitlines() if ln.strip()]
        facts = EngineFacts(reachable=False, product="podman", error=(lines[-1] if lines else res.why())[:300])
    try:
        machine = machine_from_inspect(json.loads(ins.stdout)) if ins.ok and ins.stdout.strip() else {}
    except json.JSONDecodeError:
        machine = {}
    facts.vm_type = machine.get("vm_type")
    # The running VM's own figures win; the machine's configuration fills what the VM did not say.
    facts.ncpu = facts.ncpu or machine.get("ncpu")
    facts.mem_total = facts.mem_total or machine.get("mem_total")
    if machine and not facts.reachable and (facts.ncpu or facts.mem_total):
        facts.error = facts.error or "podman info did not answer; size from `podman machine inspect`"
    return facts
