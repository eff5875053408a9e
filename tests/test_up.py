"""`kdoctor up` / `down` against stateful fakes of minikube and kind (they keep clusters in a temp dir,
accept the real flags, answer in the upstream formats and log every call), a fake docker for the
node and registry containers, and a fake kubectl answering for the clusters they made."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import DATA, FakeMachine, apple_silicon_env
from tests.support.cli import KDOCTOR, run_kdoctor

pytestmark = pytest.mark.slow  # every test runs `python -m kdoctor up` against the stateful fakes, seconds each


@pytest.fixture
def mac(machine: FakeMachine, monkeypatch: pytest.MonkeyPatch) -> FakeMachine:
    machine.install("uname", "sysctl", "sw_vers", "docker", "minikube", "kind", "kubectl")
    apple_silicon_env(monkeypatch)
    monkeypatch.setenv("FAKE_DOCKER_INFO", str(DATA / "docker" / "info-docker-desktop-arm64.json"))
    monkeypatch.setenv("KDOCTOR_PROFILE_DIR", str(machine.root / "profiles"))
    monkeypatch.delenv("CI", raising=False)
    return machine


def up(*args: str, env: dict[str, str] | None = None) -> tuple[int, dict, str]:
    return run_kdoctor("up", "-o", "json", "--wait-timeout", "5", *args, env=env).triple()


def profile(m: FakeMachine, name: str, body: str) -> str:
    d = m.root / "profiles"
    d.mkdir(exist_ok=True)
    (d / f"{name}.yaml").write_text(body)
    return name


def mk_calls(m: FakeMachine, verb: str) -> list[list[str]]:
    return [c for c in m.calls("minikube") if c[:1] == [verb]]


def configmaps(m: FakeMachine, context: str) -> dict[str, dict]:
    d = m.state / "kube" / context
    return {p.stem: json.loads(p.read_text()) for p in d.glob("*.json")} if d.is_dir() else {}


def test_fresh_dev_up_then_rerun_is_a_noop(mac: FakeMachine) -> None:
    code, doc, err = up("--profile", "dev")
    assert code == 0, err
    assert doc["action"] == "created"
    starts = mk_calls(mac, "start")
    assert starts == [
        [
            "start",
            "-p",
            "kdoctor-dev",
            "--driver=docker",
            "--cpus=4",
            "--memory=7936mb",
            "--container-runtime=containerd",
            "--nodes=1",
            "--kubernetes-version=v1.35.1",
            "--disk-size=40960mb",
            "--addons=metrics-server",
            "--addons=ingress",
            "--extra-config=kubelet.max-pods=110",
            "--insecure-registry=kdoctor-registry:5000",
        ]
    ]
    docker = mac.calls("docker")
    run = next(c for c in docker if c[:1] == ["run"])
    assert run[-1] == "registry:2" and "127.0.0.1:5001:5000" in run and "dev.kdoctor.role=registry" in run
    assert ["network", "connect", "kdoctor-dev", "kdoctor-registry"] in docker
    node = json.loads((mac.state / "docker" / "kdoctor-dev.json").read_text())
    assert (
        node["_files"]["/etc/containerd/certs.d/localhost:5001/hosts.toml"] == '[host."http://kdoctor-registry:5000"]\n'
    )
    cms = configmaps(mac, "kdoctor-dev")
    assert 'host: "localhost:5001"' in cms["kube-public__local-registry-hosting"]["data"]["localRegistryHosting.v1"]
    assert "plan.json" in cms["kube-public__kdoctor-profile"]["data"]

    calls_before = len(mac.calls())
    code, doc, err = up("--profile", "dev")
    assert code == 0 and doc["action"] == "unchanged", err
    new = mac.calls()[calls_before:]
    assert not [c for c in new if c[:1] in (["start"], ["delete"], ["run"])]


def test_stopped_cluster_is_started_not_recreated(mac: FakeMachine) -> None:
    assert up("--profile", "minimal")[0] == 0
    subprocess.run(["minikube", "stop", "-p", "kdoctor-minimal"], check=True, capture_output=True)
    code, doc, err = up("--profile", "minimal")
    assert code == 0 and doc["action"] == "started", err
    assert mk_calls(mac, "start")[-1] == ["start", "-p", "kdoctor-minimal"]  # no size flags on a restart
    assert not mk_calls(mac, "delete")


def test_addon_change_in_place(mac: FakeMachine) -> None:
    base = "name: team\nprovider: minikube\ncluster: team\nresources: {cpus: 2, memory: 2GiB}\n"
    profile(mac, "team", base + "addons: [metrics-server]\n")
    assert up("--profile", "team")[0] == 0
    profile(mac, "team", base + "addons: [metrics-server, ingress]\n")
    code, doc, _ = up("--profile", "team")
    assert code == 0 and doc["action"] == "updated" and "enabled addon ingress" in doc["steps"]
    subprocess.run(["minikube", "addons", "enable", "dashboard", "-p", "team"], check=True, capture_output=True)
    profile(mac, "team", base + "addons: [ingress]\n")
    code, doc, _ = up("--profile", "team")
    assert code == 0 and "disabled addon metrics-server" in doc["steps"]
    assert not any("dashboard" in s for s in doc["steps"])  # the user's own addon is left alone
    assert not mk_calls(mac, "delete")


def test_immutable_change_needs_recreate_and_consent(mac: FakeMachine) -> None:
    body = "name: team\nprovider: minikube\ncluster: team\nresources: {{cpus: {cpus}, memory: 2GiB}}\n"
    profile(mac, "team", body.format(cpus=2))
    assert up("--profile", "team")[0] == 0
    profile(mac, "team", body.format(cpus=3))
    code, doc, _ = up("--profile", "team")
    assert code == 4 and doc["action"] == "conflict"
    assert doc["diff"] == [{"field": "cpus", "existing": 2, "wanted": 3}]
    code, doc, _ = up("--profile", "team", "--recreate")  # stdin is not a TTY: no prompt, no consent
    assert code == 4 and doc["action"] == "refused"
    assert not mk_calls(mac, "delete")
    code, doc, _ = up("--profile", "team", "--recreate", "--yes")
    assert code == 0 and doc["action"] == "recreated"
    assert mk_calls(mac, "delete") == [["delete", "-p", "team"]]
    assert json.loads((mac.home / ".minikube/profiles/team/config.json").read_text())["CPUs"] == 3


def test_preflight_failure_changes_nothing(mac: FakeMachine, monkeypatch: pytest.MonkeyPatch) -> None:
    small = mac.root / "small-info.json"
    info = json.loads((DATA / "docker" / "info-docker-desktop-arm64.json").read_text())
    info.update(NCPU=2, MemTotal=2 * 1024**3)
    small.write_text(json.dumps(info))
    monkeypatch.setenv("FAKE_DOCKER_INFO", str(small))
    code, doc, _ = up("--profile", "dev")
    assert code == 5 and doc["ok"] is False
    assert any("needs at least 4096 MB" in p["message"] for p in doc["preflight"])
    assert not mk_calls(mac, "start") and not [c for c in mac.calls("docker") if c[:1] == ["run"]]


def test_dry_run_prints_the_plan_and_runs_nothing(mac: FakeMachine) -> None:
    res = run_kdoctor("up", "--profile", "dev", "--dry-run", env={"NO_COLOR": "1"})
    assert res.returncode == 0
    assert "minikube start -p kdoctor-dev --driver=docker --cpus=4 --memory=7936mb" in res.stdout
    assert "preflight passed" in res.stdout
    assert not mk_calls(mac, "start")


def test_dry_run_says_what_up_would_do_to_what_exists(mac: FakeMachine) -> None:
    """The reconcile decision per object, from read-only calls: the same decision the real run makes (issue 26)."""
    body = "name: team\nprovider: minikube\ncluster: team\nresources: {{cpus: {cpus}, memory: 2GiB}}\naddons: [{a}]\n"
    profile(mac, "team", body.format(cpus=2, a="metrics-server"))

    def dry() -> tuple[list[str], dict]:  # type: ignore[type-arg]
        text = run_kdoctor("up", "--profile", "team", "--dry-run", env={"NO_COLOR": "1"})
        doc = run_kdoctor("up", "--profile", "team", "--dry-run", "-o", "json").json
        assert text.returncode == 0
        return text.stdout.splitlines(), doc["reconcile"]

    lines, rec = dry()
    assert rec["cluster"] == "create" and any(re.match(r"\s+cluster team\s+create\s", line) for line in lines)
    assert up("--profile", "team")[0] == 0
    assert dry()[1] == {"cluster": "unchanged", "diff": [], "upgrades": [], "addons": [], "registry": None}
    profile(mac, "team", body.format(cpus=2, a="ingress"))
    assert dry()[1]["addons"] == [{"addon": "ingress", "action": "enable"},
                                  {"addon": "metrics-server", "action": "disable"}]  # fmt: skip
    profile(mac, "team", body.format(cpus=3, a="metrics-server"))
    calls_before = len(mac.calls())
    lines, rec = dry()
    assert rec["cluster"] == "conflict" and rec["diff"] == [{"field": "cpus", "existing": 2, "wanted": 3}]
    assert any(re.match(r"\s+cluster team\s+conflict\s+cpus: has 2, profile wants 3", line) for line in lines)
    assert any(line.startswith("up would stop with a conflict") for line in lines), lines
    # What the dry run asked: the product's cluster list and the recorded profile, and nothing that changes a thing.
    asked = mac.calls()[calls_before:]
    assert ["profile", "list", "-o", "json"] in asked and any(c[:2] == ["get", "configmap"] for c in asked)
    changing = {"start", "stop", "delete", "create", "addons", "run", "apply", "rm", "network", "patch"}
    assert not [c for c in asked if c[:1] and c[0] in changing], asked
    code, doc, _ = up("--profile", "team")  # and the real run agrees
    assert code == 4 and doc["action"] == "conflict" and doc["diff"] == rec["diff"]
    run_kdoctor("down", "--profile", "team")
    profile(mac, "team", body.format(cpus=2, a="metrics-server"))
    assert dry()[1]["cluster"] == "start"


def test_kind_ci_profile_up_stop_and_start(mac: FakeMachine) -> None:
    code, doc, err = up("--profile", "ci")
    assert code == 0 and doc["action"] == "created", err
    create = next(c for c in mac.calls("kind") if c[:2] == ["create", "cluster"])
    assert create[create.index("--image") + 1].endswith(
        "@sha256:3489c7674813ba5d8b1a9977baea8a6e553784dab7b84759d1014dbd78f7ebd5"
    )
    cfg = json.loads((mac.state / "kind" / "kdoctor-ci.json").read_text())["config"]
    assert "hostPort: 8080" in cfg and "containerPort: 80" in cfg
    res = run_kdoctor("down", "--profile", "ci")
    assert res.returncode == 0 and ["stop", "kdoctor-ci-control-plane"] in mac.calls("docker")
    code, doc, _ = up("--profile", "ci")
    assert code == 0 and doc["action"] == "started"
    assert ["start", "kdoctor-ci-control-plane"] in mac.calls("docker")


def test_down_delete_needs_consent(mac: FakeMachine) -> None:
    assert up("--profile", "minimal")[0] == 0
    res = run_kdoctor("down", "--profile", "minimal", "--delete")
    assert res.returncode == 4 and not mk_calls(mac, "delete")
    res = run_kdoctor("down", "--profile", "minimal", "--delete", "--yes")
    assert res.returncode == 0 and mk_calls(mac, "delete") == [["delete", "-p", "kdoctor-minimal"]]


def test_exact_name_matching(mac: FakeMachine) -> None:
    subprocess.run(
        ["minikube", "start", "-p", "kdoctor-minimal-old", "--cpus=2", "--memory=2048mb"],
        check=True,
        capture_output=True,
    )
    code, doc, _ = up("--profile", "minimal")
    assert code == 0 and doc["action"] == "created"  # a similar name is not this cluster


def test_nodes_that_are_not_arm64_fail_the_run(mac: FakeMachine) -> None:
    code, doc, _ = up("--profile", "minimal", env={"FAKE_NODE_ARCH": "amd64"})
    assert code == 1 and "not arm64" in doc["message"]


def test_malformed_and_unknown_profiles(mac: FakeMachine) -> None:
    profile(mac, "bad", "name: bad\nprovider: minikube\nresources:\n  cpus: 2\n  memroy: 4GiB\n")
    res = run_kdoctor("up", "--profile", "bad")
    assert res.returncode == 2 and "bad.yaml:5: resources.memroy: unknown key" in res.stderr
    res = run_kdoctor("up", "--profile", "nope")
    assert res.returncode == 2 and "unknown profile 'nope'" in res.stderr and "dev" in res.stderr


@pytest.mark.parametrize("kill_after", [1, 3])
def test_interrupted_up_converges_on_rerun(mac: FakeMachine, kill_after: int) -> None:
    """SIGTERM while minikube is creating the cluster; the re-run finishes without deleting anything."""
    env = {**os.environ, "FAKE_DELAY": "0.4"}
    proc = subprocess.Popen(
        [*KDOCTOR, "up", "--profile", "minimal", "--wait-timeout", "5"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(mk_calls(mac, "start")) < 1:
        time.sleep(0.05)
    time.sleep(0.1 * kill_after)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130 and "Re-run `kdoctor up`" in err
    code, doc, err = up("--profile", "minimal")
    assert code == 0, err
    assert doc["action"] in ("created", "started", "unchanged")
    assert not mk_calls(mac, "delete")


def test_onboard_script_diagnoses_then_brings_up_dev(mac: FakeMachine) -> None:
    """scripts/onboard.sh is POSIX sh: run it with dash/sh, with kdoctor on PATH, twice (idempotent)."""
    from tests.conftest import REPO

    shim = mac.bin / "kdoctor"
    shim.write_text(f'#!/bin/sh\nexec {sys.executable} -m kdoctor "$@"\n')
    shim.chmod(0o755)
    (mac.bin / "sh").symlink_to("/bin/sh")
    for _ in range(2):
        res = subprocess.run(
            ["/bin/sh", str(REPO / "scripts" / "onboard.sh")],
            capture_output=True,
            text=True,
            timeout=120,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        assert res.returncode == 0, res.stderr
        assert "Next steps" in res.stderr
    assert len(mk_calls(mac, "start")) == 1  # the second run found the cluster up and matching
    assert [c for c in mac.calls("docker") if c[:2] == ["system", "info"]]  # diagnose ran
