"""The VMs Colima and Lima manage, whether or not the docker CLI points at one of them.

`colima list --json` and `limactl list --json` print one JSON object per line (name, status, arch, cpus, memory
in bytes; Lima adds vmType). They show what docker info cannot when the engine is down or another engine is
current: an x86_64 VM running on an Apple Silicon Mac (full-system emulation) is the usual finding.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from kdoctor.facts.model import VMFacts
from kdoctor.facts.values import whole_number
from kdoctor.platforms import facts_arch
from kdoctor.runner import Runner


def parse_list(product: Literal["colima", "lima"], stdout: str) -> list[VMFacts]:
    """One JSON object per line (a JSON array is accepted too); lines that are not objects are skipped."""
    text = stdout.strip()
    docs: list[Any] = []
    if text.startswith("["):
        try:
            docs = json.loads(text)
        except json.JSONDecodeError:
            docs = []
    else:
        for line in text.splitlines():
            try:
                docs.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    out = []
    for d in docs:
        if not isinstance(d, dict) or not isinstance(d.get("name"), str):
            continue
        out.append(
            VMFacts(
                product=product,
                name=d["name"],
                status=str(d["status"]) if d.get("status") else None,
                arch=facts_arch(d.get("arch")),
                cpus=whole_number(d.get("cpus")),
                memory=whole_number(d.get("memory")),
                vm_type=str(d["vmType"]) if d.get("vmType") else None,
                runtime=str(d["runtime"]) if d.get("runtime") else None,
            )
        )
    return out


def probe_vms(runner: Runner, timeout: float = 8.0) -> list[VMFacts]:
    """Raises LookupError when neither tool is installed (the caller records it as missing); a tool that fails
    raises RuntimeError with its own words, so the record says why nothing was listed."""
    from concurrent.futures import ThreadPoolExecutor

    asks: list[tuple[Literal["colima", "lima"], list[str]]] = []
    if runner.which("colima"):
        asks.append(("colima", ["colima", "list", "--json"]))
    if runner.which("limactl"):
        asks.append(("lima", ["limactl", "list", "--json"]))
    if not asks:
        raise LookupError("neither colima nor limactl is installed")
    with ThreadPoolExecutor(len(asks)) as pool:
        results = list(pool.map(lambda a: (a[0], runner.run(a[1], timeout=timeout)), asks))
    vms: list[VMFacts] = []
    errors = []
    for product, res in results:
        if res.ok:
            vms += parse_list(product, res.stdout)
        else:
            errors.append(f"{product}: {res.why()}")
    if errors and not vms:
        raise RuntimeError("; ".join(errors))
    return vms
