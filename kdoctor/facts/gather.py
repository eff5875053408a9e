"""Run every probe concurrently, each with its own deadline, and assemble the snapshot."""

from __future__ import annotations

import datetime as _dt
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kdoctor import __version__
from kdoctor.facts import emulation, engine, host, kind, kubectl, minikube, tools, vms
from kdoctor.facts.model import Facts, ImagesFacts, ProbeRecord, ProbeStatus, failure_status
from kdoctor.runner import Runner


class Missing(Exception):
    """Raised by a probe whose source is simply absent (tool not installed)."""


@dataclass(frozen=True)
class Probe:
    name: str
    fn: Callable[[], Any]
    deadline: float


def _needs(runner: Runner, tool: str) -> None:
    if runner.which(tool) is None:
        raise Missing(f"{tool} is not installed (not on PATH)")


def build_probes(runner: Runner, home: Path, system: str | None = None) -> list[Probe]:
    def tool(name: str) -> Callable[[], Any]:
        return lambda: tools.probe_tool(runner, name)

    def kubectl_probe() -> Any:
        _needs(runner, "kubectl")
        return kubectl.probe_kubectl(runner)

    def minikube_probe() -> Any:
        facts = minikube.probe_minikube(runner, home=home)
        if runner.which("minikube") is None and not facts.profiles and not facts.errors:
            raise Missing("minikube is not installed and has no profiles")
        return facts

    def kind_probe() -> Any:
        _needs(runner, "kind")
        return kind.probe_kind(runner)

    def vms_probe() -> Any:
        try:
            return vms.probe_vms(runner)
        except LookupError as exc:
            raise Missing(str(exc)) from None

    def binfmt_probe() -> Any:
        _needs(runner, "docker")
        return emulation.read_node_binfmt(runner)

    return [
        Probe("host", lambda: host.probe_host(runner, system=system, home=home), 5),
        *(Probe(f"tools.{name}", tool(name), 8) for name in tools.TOOLS),
        Probe("engine", lambda: engine.probe_engine(runner, home=home), 12),
        Probe("binfmt", binfmt_probe, 12),
        Probe("minikube", minikube_probe, 15),
        Probe("kind", kind_probe, 15),
        Probe("kubectl", kubectl_probe, 15),
        Probe("vms", vms_probe, 12),
    ]


def record_for(result: Any) -> ProbeRecord:
    """How a probe that returned went: ok, unless the result says it returned without having looked (a `failed`
    reason: its own listing failed)."""
    failed = getattr(result, "failed", None)
    if isinstance(failed, str) and failed:
        return ProbeRecord(status=failure_status(failed), reason=failed[:300])
    return ProbeRecord(status=ProbeStatus.OK)


def _timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    t0 = time.monotonic()
    return fn(), time.monotonic() - t0


def gather(
    runner: Runner,
    *,
    home: Path | None = None,
    system: str | None = None,
    on_done: Callable[[str], None] | None = None,
    images_phase: Callable[[Facts], ImagesFacts] | None = None,
) -> Facts:
    """Every probe at once; then, when given and a cluster answers, the images phase (it needs the
    emulator and node architectures found by the first)."""
    home = home or Path.home()
    probes = build_probes(runner, home, system)
    results: dict[str, Any] = {}
    records: dict[str, ProbeRecord] = {}
    pool = ThreadPoolExecutor(max_workers=len(probes), thread_name_prefix="probe")
    started = time.monotonic()
    futures = {p.name: (p, pool.submit(_timed, p.fn)) for p in probes}
    for name, (probe, fut) in futures.items():
        remaining = max(0.0, probe.deadline - (time.monotonic() - started))
        took = 0.0
        try:
            results[name], took = fut.result(timeout=remaining)
            records[name] = record_for(results[name])
        except FutureTimeout:
            took = probe.deadline
            records[name] = ProbeRecord(
                status=ProbeStatus.TIMEOUT, reason=f"{name} probe took longer than {probe.deadline:g}s"
            )
        except Missing as exc:
            records[name] = ProbeRecord(status=ProbeStatus.MISSING, reason=str(exc))
        except Exception as exc:  # a probe bug must become a recorded reason, not a crash
            records[name] = ProbeRecord(status=ProbeStatus.ERROR, reason=f"{type(exc).__name__}: {exc}"[:300])
        records[name].duration_ms = int(took * 1000)
        if on_done:
            on_done(name)
    # Subprocesses have their own timeouts, so any straggler thread ends soon; don't wait for it.
    pool.shutdown(wait=False, cancel_futures=True)
    facts = assemble(results, records)
    if images_phase is not None and facts.kubectl and facts.kubectl.server_reachable:
        t0 = time.monotonic()
        try:
            facts.images = images_phase(facts)
            facts.probes["images"] = ProbeRecord(status=ProbeStatus.OK)
        except Exception as exc:  # network trouble must not sink the report
            facts.probes["images"] = ProbeRecord(status=ProbeStatus.ERROR, reason=f"{type(exc).__name__}: {exc}"[:300])
        facts.probes["images"].duration_ms = int((time.monotonic() - t0) * 1000)
        if on_done:
            on_done("images")
    elif images_phase is not None:
        facts.probes["images"] = ProbeRecord(
            status=ProbeStatus.MISSING, reason="no reachable cluster to list images from"
        )
    return facts


def _size_from_the_vm_list(facts: Facts) -> None:
    """A Colima or Lima engine that answered without its size (issue 25, class 7): the one running VM of that
    product in `colima list --json` / `limactl list --json` is the engine's VM, and its CPUs, memory and VM type
    are the engine's. With several running VMs of the product, which one answers is not known: nothing is taken."""
    eng, vms = facts.engine, facts.vms or []
    if eng is None or not eng.reachable or eng.product not in ("colima", "lima"):
        return
    running = [v for v in vms if v.product == eng.product and (v.status or "").lower() == "running"]
    if len(running) != 1:
        return
    vm = running[0]
    eng.ncpu = eng.ncpu if eng.ncpu is not None else vm.cpus
    eng.mem_total = eng.mem_total if eng.mem_total is not None else vm.memory
    eng.vm_type = eng.vm_type or vm.vm_type


def assemble(results: dict[str, Any], records: dict[str, ProbeRecord]) -> Facts:
    facts = Facts(
        kdoctor_version=__version__,
        collected_at=_dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        probes={},
    )
    facts.host = results.get("host")
    for name in tools.TOOLS:
        key = f"tools.{name}"
        if key in results:
            facts.tools[name] = results[key]
    facts.engine = results.get("engine")
    facts.minikube = results.get("minikube")
    facts.kind = results.get("kind")
    facts.kubectl = results.get("kubectl")
    facts.vms = results.get("vms")
    _size_from_the_vm_list(facts)
    node, entries, why_not = results.get("binfmt") or (
        None,
        None,
        records.get("binfmt", ProbeRecord(status=ProbeStatus.ERROR)).reason,
    )
    facts.emulation = emulation.resolve_emulator(facts.engine, node, entries, why_not)
    # Checks ask for "tools", not four separate probes; the per-tool records stay for the report.
    facts.probes = dict(records)
    facts.probes["tools"] = ProbeRecord(status=ProbeStatus.OK)
    # The node and pod lists succeed or fail apart from the kubectl probe as a whole (a Forbidden list, a slow one).
    facts.probes.update(kubectl.list_records(facts.kubectl))
    facts.probes["emulation"] = ProbeRecord(
        status=ProbeStatus.OK if facts.engine is not None else ProbeStatus.ERROR,
        reason=None if facts.engine is not None else "the engine probe did not finish",
    )
    return facts
