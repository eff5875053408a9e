"""The small wording faults of issue 12: nothing is called fine, native or unknown that was not looked at."""

from __future__ import annotations

from kdoctor.checks.run import run_checks
from kdoctor.facts.model import (
    GIB,
    EngineFacts,
    Facts,
    HostFacts,
    KindCluster,
    KindFacts,
    KindNode,
    MinikubeFacts,
    MinikubeProfile,
    ProbeRecord,
    ProbeStatus,
)
from tests.support.facts import mac_facts, tool


def findings(facts: Facts, check_id: str) -> list[tuple[str, str]]:
    return [(f.severity.value, f.message) for f in run_checks(facts, only=[check_id]).findings if f.id == check_id]


def test_tools_not_installed_are_not_called_native() -> None:
    got = findings(mac_facts(tools={"kubectl": tool("kubectl", "arm64")}), "KD201")
    assert got == [("ok", "kubectl arm64; not installed: kind, docker")]


def test_a_script_shim_is_not_counted_native() -> None:
    tools = {"kubectl": tool("kubectl", "script"), "docker": tool("docker", "universal")}
    ((sev, msg),) = findings(mac_facts(tools=tools), "KD201")
    assert sev == "info" and "kubectl at /opt/homebrew/bin/kubectl is a script (a shim)" in msg
    ((sev, msg),) = findings(mac_facts(tools={"minikube": tool("minikube", "script")}), "KD502")
    assert sev == "info" and "script" in msg


def test_a_minikube_version_that_was_read_is_not_called_unknown() -> None:
    facts = mac_facts(tools={"minikube": tool("minikube", "arm64", "v1.17.1")}, minikube=MinikubeFacts())
    ((sev, msg),) = findings(facts, "KD701")
    assert sev == "info" and "minikube v1.17.1 predates" in msg and "unknown" not in msg


def test_a_profile_of_unknown_size_is_not_ok() -> None:
    mk = MinikubeFacts(profiles=[MinikubeProfile(name="dev", driver="qemu2")])
    for cid in ("KD601", "KD602"):
        ((sev, msg),) = findings(mac_facts(minikube=mk), cid)
        assert sev == "info" and "'dev' is unknown" in msg, (cid, msg)


def test_a_vm_driver_profile_is_judged_without_an_engine() -> None:
    mk = MinikubeFacts(profiles=[MinikubeProfile(name="dev", driver="vfkit", memory_mb=64000, cpus=4)])
    facts = mac_facts(minikube=mk)
    facts.probes["engine"] = ProbeRecord(status=ProbeStatus.TIMEOUT, reason="engine probe took longer than 12s")
    ((sev, msg),) = findings(facts, "KD601")
    assert sev == "error" and "this Mac has only" in msg


def test_engine_memory_unknown_is_not_ok() -> None:
    engine = EngineFacts(reachable=True, product="docker-desktop", ncpu=4)
    kind = KindFacts(clusters=[KindCluster(name="dev", nodes=[KindNode(name="dev-control-plane")])])
    assert findings(mac_facts(engine=engine, kind=kind), "KD604")[0][0] == "info"
    assert findings(mac_facts(engine=engine), "KD303") == [("info", "4 CPUs; the engine did not report its memory")]
    one_cpu = EngineFacts(reachable=True, product="podman", ncpu=1)
    assert findings(mac_facts(engine=one_cpu), "KD303")[0][0] == "error"


def test_unknown_architectures_and_drivers_are_not_judged() -> None:
    from kdoctor.facts.model import KubectlFacts, NodeFacts

    facts = mac_facts(engine=EngineFacts(reachable=True, product="docker-engine", ncpu=4, mem_total=8 * GIB))
    facts.probes["engine"] = ProbeRecord(status=ProbeStatus.OK)
    assert findings(facts, "KD302")[0][0] == "info"  # the engine did not say its architecture
    mk = MinikubeFacts(profiles=[MinikubeProfile(name="dev")])
    ((sev, msg),) = findings(mac_facts(minikube=mk), "KD501")
    assert sev == "info" and "does not name its driver" in msg  # not "the ? driver is unsupported"
    kubectl = KubectlFacts(server_reachable=True, server_version="v1.33.1", nodes=[NodeFacts(name="n1")])
    facts = mac_facts(kubectl=kubectl)
    facts.probes["kubectl"] = ProbeRecord(status=ProbeStatus.OK)
    assert findings(facts, "KD705") == [("info", "node(s) n1 did not report an architecture")]


def test_kind_images_not_compared_without_kinds_version() -> None:
    kind = KindFacts(clusters=[KindCluster(name="dev", nodes=[KindNode(name="n", image="kindest/node:v1.35.0")])])
    ((sev, _),) = findings(mac_facts(kind=kind, tools={"kind": tool("kind", "arm64")}), "KD703")
    assert sev == "info"


def test_host_memory_unknown_is_not_ok() -> None:
    facts = mac_facts()
    facts.host = HostFacts(os="darwin", arch="arm64", apple_silicon=True)
    assert findings(facts, "KD103")[0][0] == "info"


def test_a_category_with_every_check_skipped_is_not_ticked() -> None:
    """Issue 25, class 11: a headline says "[-] … (not checked: …)" when every check under it was skipped, and names
    how many were not checked when only some were; a ✓ always means something was looked at."""
    import io

    from rich.console import Console

    from kdoctor.report.human import render_human
    from kdoctor.report.model import Category, Finding, Report, Severity

    def f(fid: str, cat: Category, sev: Severity, msg: str) -> Finding:
        return Finding(id=fid, category=cat, severity=sev, title=fid, message=msg)

    report = Report(
        findings=[
            f("KD401", Category.EMULATION, Severity.SKIPPED, "the container engine is not reachable"),
            f("KD403", Category.EMULATION, Severity.SKIPPED, "the container engine is not reachable"),
            f("KD102", Category.HOST, Severity.OK, "Apple M2 Pro"),
            f("KD103", Category.HOST, Severity.SKIPPED, "sysctl did not answer"),
        ]
    )
    out = io.StringIO()
    render_human(report, Console(file=out, width=200, color_system=None))
    lines = out.getvalue().splitlines()
    emulation = next(line for line in lines if "emulation" in line.lower() and line.startswith("["))
    host = next(line for line in lines if line.startswith("[") and "Host" in line)
    assert emulation.startswith("[-]") and "not checked: the container engine is not reachable" in emulation
    assert host.startswith("[✓]") and "1 of 2 not checked" in host
