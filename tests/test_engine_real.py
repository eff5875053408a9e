"""The Docker probe against a real engine: Debian's dockerd on a private socket, through the same
python-on-whales seam the product uses. A busybox container labelled like a kind node stands in
for the node so the binfmt and kind probes read a real `docker exec` / `docker ps`."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from kdoctor.facts import emulation, engine, kind
from kdoctor.facts.gather import gather
from kdoctor.runner import SubprocessRunner
from tests.support.realparts import Dockerd, busybox_rootfs_tar, start_dockerd, stop_dockerd

pytestmark = pytest.mark.engine


@pytest.fixture(scope="module")
def dockerd() -> Iterator[Dockerd]:
    d = start_dockerd()
    try:
        d.docker("import", "-", "kdoctor-test/busybox:1", input=busybox_rootfs_tar())
        # Real nodes are privileged; SYS_ADMIN is enough to mount binfmt_misc (full --privileged is
        # refused inside this sandbox).
        d.docker(
            "run",
            "-d",
            "--cap-add",
            "SYS_ADMIN",
            "--security-opt",
            "apparmor=unconfined",
            "--network",
            "none",
            "--name",
            "kdtest-control-plane",
            "--label",
            "io.x-k8s.kind.cluster=kdtest",
            "--label",
            "io.x-k8s.kind.role=control-plane",
            "kdoctor-test/busybox:1",
            "/bin/sh",
            "-c",
            "mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc 2>/dev/null; exec sleep 3600",
        )
        yield d
    finally:
        d.docker("rm", "-f", "kdtest-control-plane", check=False)
        stop_dockerd(d)


@pytest.fixture
def on_engine(dockerd: Dockerd, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Dockerd:
    monkeypatch.setenv("DOCKER_HOST", dockerd.host)
    monkeypatch.setenv("HOME", str(tmp_path))
    return dockerd


def test_engine_probe_reads_the_real_daemon(on_engine: Dockerd) -> None:
    info = json.loads(on_engine.docker("info", "--format", "{{json .}}").stdout)
    e = engine.probe_engine(SubprocessRunner())
    assert e.reachable, e.error
    assert e.server_version == info["ServerVersion"]
    assert e.ncpu == info["NCPU"] == os.cpu_count()
    assert e.mem_total == info["MemTotal"]
    assert e.arch == engine.facts_arch(info["Architecture"])
    assert e.product == "docker-engine"


def test_docker_argv_comes_from_python_on_whales(on_engine: Dockerd) -> None:
    from kdoctor.tools.docker import docker_argv

    argv = docker_argv()
    assert argv[0].endswith("docker")


def test_binfmt_is_read_through_the_labelled_node(on_engine: Dockerd) -> None:
    node, entries, why = emulation.read_node_binfmt(SubprocessRunner())
    assert node == "kdtest-control-plane", why
    assert entries is not None
    host_dir = Path("/proc/sys/fs/binfmt_misc")
    if (host_dir / "status").exists():
        expected = sorted(p.name for p in host_dir.iterdir() if p.name not in ("status", "register"))
        assert sorted(e.name for e in entries) == expected


def test_kind_probe_lists_node_containers(on_engine: Dockerd, tmp_path: Path) -> None:
    k = kind.probe_kind(SubprocessRunner())
    assert [(c.name, [(n.name, n.role, n.state) for n in c.nodes]) for c in k.clusters] == [
        ("kdtest", [("kdtest-control-plane", "control-plane", "running")])
    ]


def test_diagnose_on_this_machine_with_the_fixture_engine(on_engine: Dockerd) -> None:
    from kdoctor.checks.run import run_checks

    facts = gather(SubprocessRunner())
    assert facts.engine and facts.engine.reachable
    assert facts.emulation and facts.emulation.emulator == "native"
    report = run_checks(facts)
    ids = {f.id: f.severity.value for f in report.findings}
    assert ids["KD301"] == "ok" and ids["KD302"] == "ok" and ids["KD303"] == "ok"
    assert ids["KD102"] == "info"  # not an Apple Silicon Mac


def test_unreachable_socket_is_a_finding(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/nothing.sock")
    e = engine.probe_engine(SubprocessRunner())
    assert not e.reachable and e.error


def test_registry_wiring_on_the_real_engine(on_engine: Dockerd) -> None:
    """The local-registry wiring `up` does, against real dockerd: container, network, node config."""
    from kdoctor.provision.plan import Plan
    from kdoctor.provision.registry import configure_nodes, ensure_registry
    from tests.support.realparts import registry_rootfs_tar

    on_engine.docker(
        "import",
        "-c",
        'CMD ["/usr/bin/docker-registry","serve","/etc/docker/registry/config.yml"]',
        "-",
        "kdoctor-test/registry:2",
        input=registry_rootfs_tar(),
    )
    made = on_engine.docker("network", "create", "kind", check=False)
    # A bridge network outlives its dockerd as a host interface unless removed (`finally` below); runs that
    # leak them use up Docker's 31 default address pools, and then creating one fails: say so, not later.
    assert made.returncode == 0 or b"already exists" in made.stderr, made.stderr.decode(errors="replace")
    plan = Plan(
        profile="t",
        provider="kind",
        cluster="kdtest",
        context="kind-kdtest",
        kubernetes_version=None,
        node_image=None,
        cpus=2,
        memory_mb=2048,
        disk_mb=None,
        nodes=1,
        runtime="containerd",
        addons=[],
        registry={
            "name": "kdtest-registry",
            "host": "localhost:5011",
            "port": 5011,
            "image": "kdoctor-test/registry:2",
            "in_cluster": "kdtest-registry:5000",
        },
        kind_config=None,
        create=[],
        vm={},
    )
    try:
        runner = SubprocessRunner()
        done = ensure_registry(runner, plan)
        assert done == [
            "started registry container kdtest-registry on localhost:5011",
            "connected kdtest-registry to the kind network",
        ]
        info = json.loads(on_engine.docker("inspect", "kdtest-registry").stdout)[0]
        assert info["State"]["Running"] and info["Config"]["Labels"]["dev.kdoctor.role"] == "registry"
        assert info["HostConfig"]["PortBindings"]["5000/tcp"] == [{"HostIp": "127.0.0.1", "HostPort": "5011"}]
        assert "kind" in info["NetworkSettings"]["Networks"]
        assert ensure_registry(runner, plan) == []  # idempotent: nothing to do the second time
        on_engine.docker("stop", "kdtest-registry")
        assert ensure_registry(runner, plan) == ["restarted registry container kdtest-registry"]
        configure_nodes(runner, plan, ["kdtest-control-plane"])
        hosts = on_engine.docker(
            "exec", "kdtest-control-plane", "cat", "/etc/containerd/certs.d/localhost:5011/hosts.toml"
        ).stdout.decode()
        assert hosts == '[host."http://kdtest-registry:5000"]\n'
    finally:
        on_engine.docker("rm", "-f", "kdtest-registry", check=False)
        on_engine.docker("network", "rm", "kind", check=False)
