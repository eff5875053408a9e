"""Engine products (issue 12): Rancher Desktop (moby and containerd), Podman (its CLI and a docker that is podman),
Lima, and KD301 judged by what needs the engine. Real captures where they exist (tests/data/README.md,
tests/corpus/diagnose); replayed through the fakes with FAKE_REPLAY."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from kdoctor.checks.run import run_checks
from kdoctor.data import data_dir
from kdoctor.facts import engine, products
from kdoctor.facts.emulation import resolve_emulator
from kdoctor.facts.model import (
    EngineFacts,
    Facts,
    MinikubeFacts,
    MinikubeProfile,
    ProbeRecord,
    ProbeStatus,
    ToolFacts,
)
from kdoctor.runner import SubprocessRunner
from tests.conftest import FakeMachine
from tests.support import corpus_replay as cr

DATA = Path(__file__).parent / "data"
CORPUS = cr.CORPUS
GIB = 1024**3


def replay(machine: FakeMachine, monkeypatch: pytest.MonkeyPatch, rows: dict[str, list[dict[str, Any]]]) -> None:
    path = machine.root / "replay.json"
    path.write_text(json.dumps(rows))
    monkeypatch.setenv("FAKE_REPLAY", str(path))
    machine.install(*rows)


def rd_info_rows() -> dict[str, list[dict[str, Any]]]:
    return cr.docker_info_text((DATA / "docker" / "info-rancher-desktop-arm64.txt").read_text())


def test_every_product_rule_has_a_source_and_a_known_product() -> None:
    raw = yaml.safe_load((data_dir("checks") / "engines.yaml").read_text())
    assert {e["product"] for e in raw["products"]} >= {
        "docker-desktop",
        "orbstack",
        "rancher-desktop",
        "podman",
        "lima",
    }
    for entry in raw["products"]:
        for rule in entry["rules"]:
            assert str(rule.get("source", "")).strip(), rule
    assert products.rules()  # loads and validates


def test_rancher_desktop_moby_from_its_real_docker_info() -> None:
    doc = json.loads(rd_info_rows()["docker"][-1]["stdout"])
    e = engine.engine_from_info(doc)
    assert (e.product, e.arch, e.ncpu) == ("rancher-desktop", "arm64", 2)
    assert e.mem_total and round(e.mem_total / GIB, 2) == 7.75


@pytest.mark.parametrize(
    ("fields", "product"),
    [
        ({"server_version": "26.1.0-rd", "operating_system": "Alpine Linux v3.20"}, "rancher-desktop"),
        ({"name": "lima-docker", "operating_system": "Ubuntu 24.04.1 LTS"}, "lima"),
        ({"name": "lima-rancher-desktop", "operating_system": "Alpine Linux v3.19"}, "rancher-desktop"),
        ({"platform": "Docker Desktop 4.39.0 (184744)"}, "docker-desktop"),
        ({"name": "ubuntu", "operating_system": "Ubuntu 22.04.5 LTS"}, "docker-engine"),
        ({}, "unknown"),
    ],
)
def test_product_rules(fields: dict[str, str], product: str) -> None:
    assert products.fingerprint(fields) == product


def test_a_context_names_the_product_only_when_the_engine_does_not_answer() -> None:
    assert products.fingerprint({"context": "rancher-desktop"}, answered=False) == "rancher-desktop"
    assert products.fingerprint({"context": "rancher-desktop", "operating_system": "Ubuntu"}) == "docker-engine"


def test_an_engine_that_answers_without_a_name_is_told_by_its_context(
    machine: FakeMachine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 25, class 7: `docker info` with a server version but no Name and no OperatingSystem (the shape a
    Colima thread's `docker version` gives: Context: colima, Engine 27.4.0 linux/arm64) names no product; the
    CLI's context then does. With an operating system that names none, the engine stays a plain docker-engine."""
    machine.install("docker")
    short = {
        "ClientInfo": {"Context": "colima"},
        "ServerVersion": "27.4.0",
        "OSType": "linux",
        "Architecture": "aarch64",
    }
    info = machine.write("info.json", json.dumps(short))
    monkeypatch.setenv("FAKE_DOCKER_INFO", str(info))
    eng = engine.probe_engine(SubprocessRunner())
    assert eng.reachable and eng.product == "colima" and eng.arch == "arm64"
    info.write_text(json.dumps({**short, "OperatingSystem": "Ubuntu 24.04.1 LTS", "Name": "builder"}))
    assert engine.probe_engine(SubprocessRunner()).product == "docker-engine"


RD_LIMA = """\
vmType: vz
rosetta:
  enabled: true
  binfmt: true
arch: aarch64
cpus: 2
memory: 8589934592
"""


def test_rancher_desktop_vm_type_and_rosetta_from_its_lima_yaml(
    machine: FakeMachine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """lima.yaml keys as Rancher Desktop writes them (LimaConfiguration, pkg/rancher-desktop/backend/lima.ts)."""
    replay(machine, monkeypatch, rd_info_rows())
    machine.write("Library/Application Support/rancher-desktop/lima/0/lima.yaml", RD_LIMA)
    e = engine.probe_engine(SubprocessRunner(), home=machine.home)
    assert (e.product, e.vm_type) == ("rancher-desktop", "vz")
    assert e.lima and e.lima.rosetta is True and e.lima.memory == 8 * GIB
    em = resolve_emulator(e, None, None, "no node container is running")
    assert (em.emulator, em.source) == ("rosetta", "lima.yaml")


def test_rancher_desktop_containerd_mode_says_why_docker_has_no_engine(
    machine: FakeMachine, monkeypatch: pytest.MonkeyPatch
) -> None:
    machine.write("Library/Application Support/rancher-desktop/lima/0/lima.yaml", RD_LIMA)
    machine.write("Library/Preferences/rancher-desktop/settings.json", '{"containerEngine": {"name": "containerd"}}')
    e = engine.probe_engine(SubprocessRunner(), home=machine.home)  # no docker on PATH
    assert not e.reachable and e.product == "rancher-desktop"
    assert "containerd (use nerdctl)" in (e.error or "")


def test_a_docker_that_is_podman(machine: FakeMachine, monkeypatch: pytest.MonkeyPatch) -> None:
    """`docker info --format json` answered by podman prints podman's own document (python-on-whales#592)."""
    info = yaml.safe_load((CORPUS / "podman-5-rootful-amd64-fail-m1-podman22708" / "podman-info.txt").read_text())
    replay(machine, monkeypatch, {"docker": [{"argv": ["system", "info"], "stdout": json.dumps(info) + "\n"}]})
    e = engine.probe_engine(SubprocessRunner(), home=machine.home)
    assert (e.reachable, e.product, e.arch, e.ncpu) == (True, "podman", "arm64", 4)
    assert e.mem_total == 8300716032


def test_podman_cli_machine_provider_and_size(machine: FakeMachine, monkeypatch: pytest.MonkeyPatch) -> None:
    case = CORPUS / "podman-6-applehv-reported-libkrun-podman29139"
    rows = cr.podman_machine_inspect((case / "podman-machine-inspect.json-excerpt.txt").read_text())
    info = (CORPUS / "podman-5-7-libkrun-and-applehv-podman27912" / "podman-info.txt").read_text()
    rows["podman"] += cr.podman_info_yaml(info)["podman"]
    replay(machine, monkeypatch, rows)
    e = engine.probe_engine(SubprocessRunner(), home=machine.home)
    assert (e.reachable, e.product, e.product_version, e.vm_type) == (True, "podman", "5.7.1", "applehv")
    assert e.ncpu == 15  # the running VM's own figure wins over the machine's configuration


def test_podman_on_libkrun_emulates_with_qemu() -> None:
    e = EngineFacts(reachable=True, product="podman", arch="arm64", vm_type="libkrun")
    assert resolve_emulator(e, None, None, None).emulator == "qemu"


def test_plain_lima_instance(machine: FakeMachine, monkeypatch: pytest.MonkeyPatch) -> None:
    doc = {"ServerVersion": "27.3.1", "OperatingSystem": "Ubuntu 24.04.1 LTS", "Name": "lima-docker"}
    doc |= {"Architecture": "aarch64", "NCPU": 4, "MemTotal": 4 * GIB}
    replay(machine, monkeypatch, {"docker": [{"argv": ["system", "info"], "stdout": json.dumps(doc) + "\n"}]})
    machine.write(".lima/docker/lima.yaml", "vmType: qemu\ncpus: 4\nmemory: 4GiB\n")
    e = engine.probe_engine(SubprocessRunner(), home=machine.home)
    assert (e.product, e.vm_type) == ("lima", "qemu")
    assert e.lima and e.lima.memory == 4 * GIB


def _kd301(facts: Facts) -> tuple[str, str]:
    f = next(f for f in run_checks(facts, only=["KD301"]).findings if f.id == "KD301")
    return f.severity.value, f.message


def _no_engine(*, docker: bool = False, kind: bool = False, driver: str | None = None) -> Facts:
    tools = {n: ToolFacts(name=n, path=f"/opt/homebrew/bin/{n}" if want else None) for n, want in (
        ("docker", docker), ("kind", kind), ("minikube", driver is not None), ("kubectl", True)
    )}  # fmt: skip
    mk = MinikubeFacts(profiles=[MinikubeProfile(name="dev", driver=driver)] if driver else [])
    facts = Facts(tools=tools, engine=EngineFacts(error="docker is not installed (not on PATH)"), minikube=mk)
    facts.probes = {"engine": ProbeRecord(status=ProbeStatus.OK)}
    return facts


@pytest.mark.parametrize(
    ("kw", "severity", "words"),
    [
        ({"driver": "qemu2"}, "info", "uses the qemu2 driver, which runs its own VM"),
        ({"driver": "vfkit"}, "info", "nothing found here needs one"),
        ({"driver": "krunkit"}, "info", "nothing found here needs one"),
        ({"driver": "docker"}, "error", "needed by minikube profile 'dev' (docker driver)"),
        ({"kind": True}, "error", "needed by kind"),
        ({"docker": True, "driver": "qemu2"}, "warning", "`docker` commands will fail"),
    ],
)
def test_kd301_is_an_error_only_when_something_needs_the_engine(kw: dict[str, Any], severity: str, words: str) -> None:
    got = _kd301(_no_engine(**kw))
    assert got[0] == severity and words in got[1], got


def test_kd301_says_only_what_the_engine_reported() -> None:
    facts = Facts(engine=EngineFacts(reachable=True, product="docker-desktop", server_version="28.0.1", arch="arm64"))
    facts.probes = {"engine": ProbeRecord(status=ProbeStatus.OK)}
    sev, msg = _kd301(facts)
    assert sev == "ok" and "None" not in msg and "0.0 GiB" not in msg and msg.endswith("arm64")


def test_colima_and_lima_vms_listed() -> None:
    from kdoctor.facts.vms import parse_list

    line = (CORPUS / "colima-x86_64-vz-label-m4-colima1304" / "colima-list.json").read_text()
    (vm,) = parse_list("colima", line + "not json\n")
    assert (vm.name, vm.status, vm.arch, vm.cpus, vm.memory, vm.runtime) == (
        "default",
        "Running",
        "x86_64",
        2,
        2 * GIB,
        "docker",
    )
    doc = '[{"name": "default", "status": "Running", "vmType": "vz", "arch": "aarch64", "cpus": 4}]'
    assert [(v.product, v.vm_type, v.arch) for v in parse_list("lima", doc)] == [("lima", "vz", "arm64")]


def test_a_colima_engine_without_its_size_takes_it_from_the_one_running_vm() -> None:
    """Issue 25, class 7: `docker info` answered (Colima, by its context) without NCPU/MemTotal; `colima list --json`
    names one running VM with 4 CPUs and 8 GiB (the shape of tests/corpus/diagnose colima cases): that is the engine's
    size. Two running Colima VMs: which one answers is not known, so nothing is taken."""
    from kdoctor.facts.gather import assemble
    from kdoctor.facts.model import EngineFacts, ProbeRecord, ProbeStatus, VMFacts

    def facts_with(*vms: VMFacts) -> Any:
        eng = EngineFacts(reachable=True, product="colima", context="colima", server_version="27.4.0")
        ok = ProbeRecord(status=ProbeStatus.OK)
        return assemble({"engine": eng, "vms": list(vms)}, {"engine": ok, "vms": ok})

    vm = VMFacts(product="colima", name="default", status="Running", cpus=4, memory=8 * 1024**3, arch="arm64")
    eng = facts_with(vm, VMFacts(product="colima", name="old", status="Stopped", cpus=2)).engine
    assert (eng.ncpu, eng.mem_total) == (4, 8 * 1024**3)
    eng = facts_with(vm, VMFacts(product="colima", name="x86", status="Running", cpus=2, memory=2 * 1024**3)).engine
    assert (eng.ncpu, eng.mem_total) == (None, None)


def test_docker_desktop_s_release_from_docker_version_when_docker_info_fails(
    machine: FakeMachine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 25, class 7: `docker info` fails (here: exits 1 with a server error, as when its daemon is wedged)
    while `docker version` answered with Docker Desktop's platform name: the product and its release are known
    (`Server: Docker Desktop 4.39.0 (184744)`, the form tests/corpus/diagnose docker-desktop-4-39-rosetta-elf
    shows), so KD305 can judge the release."""
    err = "Error response from daemon: context deadline exceeded"
    replay(
        machine,
        monkeypatch,
        {
            "docker": [
                {"argv": ["system", "info", "--format", "{{json .}}"], "stdout": "", "stderr": err, "code": 1},
                {
                    "argv": ["version", "--format", "{{json .Server.Platform.Name}}"],
                    "stdout": '"Docker Desktop 4.39.0 (184744)"\n',
                },
            ]
        },
    )
    eng = engine.probe_engine(SubprocessRunner())
    assert not eng.reachable and eng.product == "docker-desktop" and eng.product_version == "4.39.0"


def test_every_product_has_a_name_to_print() -> None:
    """A product added to checks/engines.yaml and `Product` also needs the words the report prints for it."""
    from typing import get_args

    from kdoctor.checks.engine import PRODUCT_NAMES
    from kdoctor.facts.model import Product

    assert set(PRODUCT_NAMES) == set(get_args(Product))
