"""Probes against fakes on PATH and a fake HOME that replay upstream formats (tests/data/README.md)."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest

from kdoctor.facts import emulation, engine, host, kubectl, minikube, tools
from kdoctor.facts.gather import gather
from kdoctor.facts.model import ProbeStatus
from kdoctor.runner import SubprocessRunner
from kdoctor.tools.kubectl import QUICK
from tests import apiserver
from tests.conftest import DATA, FakeMachine, apple_silicon_env

DD_SETTINGS = "Library/Group Containers/group.com.docker/settings-store.json"


def fake_mac(
    machine: FakeMachine,
    monkeypatch: pytest.MonkeyPatch,
    *,
    info: str = "info-docker-desktop-arm64.json",
    binfmt: str | None = "docker-desktop-rosetta.txt",
) -> None:
    machine.install("sysctl", "sw_vers", "docker", "minikube", "kind", "kubectl")
    apple_silicon_env(monkeypatch)
    monkeypatch.setenv("FAKE_DOCKER_INFO", str(DATA / "docker" / info))
    if binfmt:
        monkeypatch.setenv("FAKE_BINFMT", str(DATA / "binfmt" / binfmt))
    monkeypatch.setenv("FAKE_KUBE_DIR", str(DATA / "kube"))


def test_host_probe_on_a_fake_mac_under_rosetta(machine: FakeMachine, monkeypatch: pytest.MonkeyPatch) -> None:
    machine.install("sysctl", "sw_vers")
    apple_silicon_env(monkeypatch, translated=True)
    facts = host.probe_host(SubprocessRunner(), system="Darwin")
    assert facts.os == "darwin" and facts.os_version == "15.6.1"
    assert facts.arch == "arm64" and facts.apple_silicon and facts.apple_chip == "Apple M2 Pro"
    assert facts.python_translated is True
    assert facts.memory_total == 32 * 1024**3


def test_tool_versions_from_their_json(machine: FakeMachine) -> None:
    machine.install("minikube", "kind", "kubectl", "docker")
    got = tools.probe_tools(SubprocessRunner())
    assert got["minikube"].version == "v1.38.1"
    assert got["kind"].version == "v0.32.0"
    assert got["kubectl"].version == "v1.35.2"
    assert got["docker"].version == "28.3.2"  # printed even though no engine answers
    assert got["kind"].binary_arch == "script"  # the fakes are scripts; real binaries: test_binaries.py
    assert ["version", "-o", "json"] in machine.calls("minikube")


def test_tool_absent_and_garbage_version(machine: FakeMachine) -> None:
    (machine.bin / "kind").write_text("#!/bin/sh\necho 'segmentation fault' >&2\nexit 139\n")
    (machine.bin / "kind").chmod(0o755)
    got = tools.probe_tool(SubprocessRunner(), "kind")
    assert got.version is None and "exited 139" in (got.error or "")
    assert tools.probe_tool(SubprocessRunner(), "minikube").path is None


@pytest.mark.parametrize(
    ("info", "product"),
    [
        ("info-docker-desktop-arm64.json", "docker-desktop"),
        ("info-colima-arm64.json", "colima"),
        ("info-orbstack-arm64.json", "orbstack"),
    ],
)
def test_engine_fingerprints(machine: FakeMachine, monkeypatch: pytest.MonkeyPatch, info: str, product: str) -> None:
    machine.install("docker")
    monkeypatch.setenv("FAKE_DOCKER_INFO", str(DATA / "docker" / info))
    e = engine.probe_engine(SubprocessRunner())
    assert e.reachable and e.product == product and e.arch == "arm64"


def test_docker_desktop_settings_and_version(machine: FakeMachine, monkeypatch: pytest.MonkeyPatch) -> None:
    machine.install("docker")
    monkeypatch.setenv("FAKE_DOCKER_INFO", str(DATA / "docker" / "info-docker-desktop-arm64.json"))
    monkeypatch.setenv("FAKE_DOCKER_DESKTOP", "4.43.2")
    machine.write(DD_SETTINGS, (DATA / "docker-desktop" / "settings-store.json").read_text())
    e = engine.probe_engine(SubprocessRunner())
    assert e.product_version == "4.43.2" and e.ncpu == 8 and e.mem_total == 16766447616
    assert e.docker_desktop and e.docker_desktop.use_rosetta and e.docker_desktop.use_libkrun is False
    em = emulation.resolve_emulator(e, None, None, "no node")
    assert (em.emulator, em.source) == ("rosetta", "docker-desktop-settings")


def test_legacy_docker_desktop_settings_lower_camel(machine: FakeMachine) -> None:
    path = machine.write(
        "Library/Group Containers/group.com.docker/settings.json",
        (DATA / "docker-desktop" / "settings-legacy.json").read_text(),
    )
    s = engine.read_docker_desktop_settings(machine.home)
    assert s and s.path == str(path) and s.use_rosetta is False and s.cpus == 4 and s.memory_mib == 8192


def test_colima_config_means_qemu(machine: FakeMachine, monkeypatch: pytest.MonkeyPatch) -> None:
    machine.install("docker")
    monkeypatch.setenv("FAKE_DOCKER_INFO", str(DATA / "docker" / "info-colima-arm64.json"))
    machine.write(".colima/default/colima.yaml", (DATA / "colima" / "colima-vz-norosetta.yaml").read_text())
    e = engine.probe_engine(SubprocessRunner())
    assert e.colima and (e.colima.vm_type, e.colima.rosetta, e.colima.binfmt) == ("vz", False, True)
    em = emulation.resolve_emulator(e, None, None, "no node")
    assert (em.emulator, em.source) == ("qemu", "colima.yaml")


def test_malformed_settings_files_are_recorded_not_raised(
    machine: FakeMachine, monkeypatch: pytest.MonkeyPatch
) -> None:
    machine.install("docker")
    monkeypatch.setenv("FAKE_DOCKER_INFO", str(DATA / "docker" / "info-colima-arm64.json"))
    machine.write(DD_SETTINGS, '{"UseLibkrun": tru')
    machine.write(".colima/default/colima.yaml", "cpu: 4\nmemory: [8\n")
    e = engine.probe_engine(SubprocessRunner())
    assert e.docker_desktop and "cannot parse" in (e.docker_desktop.error or "")
    assert e.colima and "cannot parse" in (e.colima.error or "")


def test_engine_unreachable_and_garbage(machine: FakeMachine, monkeypatch: pytest.MonkeyPatch) -> None:
    machine.install("docker")
    e = engine.probe_engine(SubprocessRunner())
    assert not e.reachable and "Cannot connect to the Docker daemon" in (e.error or "")
    garbage = machine.root / "garbage.json"
    garbage.write_text('{"ServerVersion": "28.0.0", "NCPU": "many"}')
    monkeypatch.setenv("FAKE_DOCKER_INFO", str(garbage))
    e = engine.probe_engine(SubprocessRunner())
    # The engine answered: a field of the wrong type reads as unknown (checks that need it skip), it does not
    # turn a working engine into "no engine" (docker info is read without a model that rejects new shapes).
    assert e.reachable and e.server_version == "28.0.0" and e.ncpu is None
    not_json = machine.root / "not-json.txt"
    not_json.write_text("<html>proxy error</html>")
    monkeypatch.setenv("FAKE_DOCKER_INFO", str(not_json))
    e = engine.probe_engine(SubprocessRunner())
    assert not e.reachable and e.error


def test_binfmt_read_through_a_node_container(machine: FakeMachine, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_mac(machine, monkeypatch, binfmt="colima-qemu.txt")
    SubprocessRunner().run(["kind", "create", "cluster", "--name", "dev"])
    node, entries, why = emulation.read_node_binfmt(SubprocessRunner())
    assert node == "dev-control-plane" and why is None and entries
    assert {e.name: e.enabled for e in entries} == {"qemu-x86_64": True, "rosetta": False}
    assert emulation.emulator_from_binfmt(entries) == "qemu"
    assert any(argv[:2] == ["exec", "dev-control-plane"] for argv in machine.calls("docker"))
    assert not any(argv[:1] in (["pull"], ["run"]) for argv in machine.calls("docker"))  # pulls nothing


def test_binfmt_rosetta_wins_when_both_enabled() -> None:
    entries = emulation.parse_binfmt_grep(
        (DATA / "binfmt" / "colima-qemu.txt").read_text().replace("rosetta:disabled", "rosetta:enabled")
    )
    assert emulation.emulator_from_binfmt(entries) == "rosetta"
    assert emulation.emulator_from_binfmt([]) == "none"


def test_minikube_profiles_from_list_and_files(machine: FakeMachine) -> None:
    machine.install("minikube")
    prof = machine.home / ".minikube/profiles/dev"
    prof.mkdir(parents=True)
    shutil.copy(DATA / "minikube" / "config-dev.json", prof / "config.json")
    legacy = machine.home / ".minikube/profiles/p2"
    legacy.mkdir()
    shutil.copy(DATA / "minikube" / "config-legacy.json", legacy / "config.json")
    broken = machine.home / ".minikube/profiles/broken"
    broken.mkdir()
    (broken / "config.json").write_text('{"Name": "broken", "Memory": ')
    facts = minikube.probe_minikube(SubprocessRunner())
    by_name = {p.name: p for p in facts.profiles}
    dev = by_name["dev"]
    assert (dev.driver, dev.cpus, dev.memory_mb, dev.kubernetes_version, dev.container_runtime, dev.status) == (
        "docker",
        4,
        8192,
        "v1.35.1",
        "containerd",
        "OK",
    )
    assert by_name["p2"].driver == "virtualbox" and by_name["p2"].kubernetes_version == "v1.15.0"
    assert len(facts.errors) == 1 and "broken/config.json" in facts.errors[0]


@pytest.mark.real  # runs the real kubectl
def test_kubectl_probe_reachable_and_not(machine: FakeMachine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The real kubectl against the recorded API server (tests/apiserver): up, then down."""
    apiserver.link_kubectl(machine.bin)
    with apiserver.running_api_server(tmp_path / "cluster") as server:
        server.load(json.loads((DATA / "kube" / "nodes.json").read_text()))
        monkeypatch.setenv("KUBECONFIG", str(server.kubeconfig))
        k = kubectl.probe_kubectl(SubprocessRunner())
        assert (k.current_context, k.server_version, k.server_reachable) == ("kdoctor-test", "v1.30.0", True)
        assert (k.client_version or "").startswith("v1.")
        assert [(n.name, n.arch, n.ready) for n in k.nodes] == [("dev", "arm64", True)]
        assert (k.nodes_error, k.pods_error) == (None, None)
        # every API request the probe made carried kdoctor's QUICK request timeout (the dispatcher's own /version
        # probe, timeout=5s, aside)
        asked = {r.path: r.param("timeout") for r in server.requests if r.param("timeout") != "5s"}
        assert {asked["/version"], asked["/api/v1/nodes"], asked["/api/v1/pods"]} == {f"{QUICK:g}s"}
        port = server.port
        server.down()
        k = kubectl.probe_kubectl(SubprocessRunner())
    refused = f"The connection to the server 127.0.0.1:{port} was refused - did you specify the right host or port?"
    assert not k.server_reachable and k.server_error == refused
    assert (k.nodes_error, k.pods_error) == (refused, refused)
    assert {name: r.status.value for name, r in kubectl.list_records(k).items()} == {
        "kubectl.nodes": "missing",
        "kubectl.pods": "missing",
    }


def test_full_gather_of_a_fake_mac_matches_the_healthy_scenario(
    machine: FakeMachine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kdoctor.checks.run import run_checks

    fake_mac(machine, monkeypatch)
    machine.install("limactl")  # installed, with no VMs: the vms probe answers too
    machine.write(DD_SETTINGS, (DATA / "docker-desktop" / "settings-store.json").read_text())
    prof = machine.home / ".minikube/profiles/dev"
    prof.mkdir(parents=True)
    shutil.copy(DATA / "minikube" / "config-dev.json", prof / "config.json")
    SubprocessRunner().run(["kind", "create", "cluster", "--name", "dev"])
    facts = gather(SubprocessRunner(), system="Darwin")
    assert all(r.status is ProbeStatus.OK for r in facts.probes.values()), facts.probes
    assert facts.emulation and (facts.emulation.emulator, facts.emulation.source) == (
        "rosetta",
        "binfmt:dev-control-plane",
    )
    assert facts.kind and [c.name for c in facts.kind.clusters] == ["dev"]
    report = run_checks(facts)
    bad = [(f.id, f.severity.value) for f in report.findings if f.severity.value in ("warning", "error")]
    # The fakes are scripts, so the binary-arch checks see "script", not x86_64: nothing to report.
    assert bad == [] and report.exit_code() == 0


def test_probes_run_concurrently(machine: FakeMachine, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_mac(machine, monkeypatch)
    monkeypatch.setenv("FAKE_DELAY", "0.4")
    t0 = time.monotonic()
    gather(SubprocessRunner(), system="Darwin")
    took = time.monotonic() - t0
    calls = len(machine.calls())
    # Sequentially this would be calls x 0.4 s; concurrently it is the longest probe's chain.
    assert calls >= 12 and took < calls * 0.4 / 2


def test_a_hanging_tool_is_a_timeout_not_a_hang(machine: FakeMachine, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_mac(machine, monkeypatch)
    monkeypatch.setenv("FAKE_HANG", "kind")
    from kdoctor.facts import gather as gather_mod

    real = gather_mod.build_probes

    def short(runner, home, system=None):  # type: ignore[no-untyped-def]
        return [
            gather_mod.Probe(p.name, p.fn, 1.5 if p.name in ("kind", "tools.kind") else p.deadline)
            for p in real(runner, home, system)
        ]

    monkeypatch.setattr(gather_mod, "build_probes", short)
    t0 = time.monotonic()
    facts = gather(SubprocessRunner(), system="Darwin")
    assert time.monotonic() - t0 < 12
    assert facts.probes["kind"].status is ProbeStatus.TIMEOUT
    assert facts.probes["engine"].status is ProbeStatus.OK


def test_facts_snapshot_round_trip(machine: FakeMachine, monkeypatch: pytest.MonkeyPatch) -> None:
    from kdoctor.facts.snapshot import dump_facts, load_facts

    fake_mac(machine, monkeypatch)
    facts = gather(SubprocessRunner(), system="Darwin")
    path = machine.root / "facts.json"
    path.write_text(dump_facts(facts))
    assert load_facts(path) == facts
    assert json.loads(path.read_text())["schema_version"] == 1
