"""Broken tools and files (pytest -m faults): each fake misbehaves in turn — hangs, exits non-zero,
prints garbage, truncated JSON, or a future format with unknown fields — and kdoctor must answer with a
finding or error that names the source, within its timeouts, never a traceback."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time

import pytest

from tests.conftest import DATA, FakeMachine, apple_silicon_env
from tests.support.cli import KDOCTOR, Ran, run_kdoctor

pytestmark = [pytest.mark.faults, pytest.mark.slow]  # each runs kdoctor end to end; some wait out a tool timeout
TOOLS = ("minikube", "kind", "kubectl", "docker")
MODES = ("exit", "garbage", "truncated", "future", "hang")


@pytest.fixture
def mac(machine: FakeMachine, monkeypatch: pytest.MonkeyPatch) -> FakeMachine:
    machine.install("uname", "sysctl", "sw_vers", "docker", "minikube", "kind", "kubectl")
    apple_silicon_env(monkeypatch)
    monkeypatch.setenv("FAKE_DOCKER_INFO", str(DATA / "docker" / "info-docker-desktop-arm64.json"))
    # A healthy Docker Desktop Mac, whole: its version and its settings file are there to be read (without them
    # KD305/KD402 rightly say they could not look, which is not the trouble these tests inject).
    monkeypatch.setenv("FAKE_DOCKER_DESKTOP", "4.43.2")
    machine.write(
        "Library/Group Containers/group.com.docker/settings-store.json",
        (DATA / "docker-desktop" / "settings-store.json").read_text(),
    )
    monkeypatch.setenv("FAKE_BINFMT", str(DATA / "binfmt" / "docker-desktop-rosetta.txt"))
    monkeypatch.setenv("FAKE_KUBE_DIR", str(DATA / "kube"))
    prof = machine.home / ".minikube/profiles/dev"
    prof.mkdir(parents=True)
    shutil.copy(DATA / "minikube" / "config-dev.json", prof / "config.json")
    subprocess.run(["kind", "create", "cluster", "--name", "dev"], capture_output=True, check=True)
    return machine


# Which probe records each tool's trouble.
PROBE_OF = {"minikube": "minikube", "kind": "kind", "kubectl": "kubectl", "docker": "engine"}


def _diagnose(env_extra: dict[str, str]) -> tuple[Ran, float]:
    t0 = time.monotonic()
    res = run_kdoctor("diagnose", "-o", "json", "--images-budget", "0", timeout=90, env=env_extra)
    return res, time.monotonic() - t0


def _trouble_with(doc: dict, tool: str) -> list[str]:  # type: ignore[type-arg]
    """Where the report shows trouble with `tool`: a non-ok probe record, or a non-ok finding naming it."""
    shown = []
    for name in (PROBE_OF[tool], f"tools.{tool}"):
        status = doc["probes"].get(name, {}).get("status")
        if status not in (None, "ok", "missing"):
            shown.append(f"probe {name}: {status}")
    for f in doc["findings"]:
        text = f"{f['message']} {f.get('subject') or ''}".lower()
        # The fakes are scripts: KD201/KD502 say so (info) on every run of this rig; that is not the fault's trouble.
        rig = f["severity"] == "info" and "is a script (a shim)" in f["message"]
        if f["severity"] != "ok" and tool in text and not rig:
            shown.append(f"{f['id']} {f['severity']}: {f['message']}")
    return shown


def test_the_healthy_machine_shows_no_tool_trouble(mac: FakeMachine) -> None:
    """The control for the test below: with nothing broken, no tool shows trouble, so trouble seen there
    comes from the fault."""
    res, _ = _diagnose({})
    doc = json.loads(res.stdout)
    assert {tool: _trouble_with(doc, tool) for tool in TOOLS} == {tool: [] for tool in TOOLS}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("tool", TOOLS)
def test_broken_tool_gives_a_report_not_a_traceback(mac: FakeMachine, tool: str, mode: str) -> None:
    res, took = _diagnose({"FAKE_BREAK": f"{tool}:{mode}"})
    assert "Traceback" not in res.stderr
    doc = json.loads(res.stdout)
    # The exit code is the report's own: 1 with an error finding, else 3 when a probe failed, else 0.
    errors = any(f["severity"] == "error" for f in doc["findings"])
    assert res.returncode == doc["exit_code"] == (1 if errors else 3 if doc["incomplete"] else 0)
    assert took < 30
    if mode == "future":
        assert _trouble_with(doc, tool) == []  # unknown fields are ignored: the report is the ordinary one
        assert not doc["incomplete"]
        return
    if (tool, mode) == ("kind", "truncated"):
        # `kind get clusters` prints bare names: half of "dev" is the valid name "de", a valid answer to record.
        assert doc["probes"]["kind"]["status"] == "ok" and not doc["incomplete"]
        return
    # The trouble is visible: a probe that failed, or a finding that names the tool.
    assert _trouble_with(doc, tool), json.dumps(doc["findings"], indent=1)[:3000]
    if mode == "hang":
        # A reader is told which of the tool's commands timed out, in a finding that is not ok.
        said = [f for f in doc["findings"] if f["severity"] in ("warning", "error") and "timed out" in f["message"]]
        assert [f for f in said if tool in f["message"]], json.dumps(doc["findings"], indent=1)[:3000]


def test_a_hanging_kind_list_makes_its_probe_a_timeout(mac: FakeMachine) -> None:
    """`kind get clusters` hanging: the kind probe could not look, so its status is a timeout, the report is
    incomplete, and no kind check says "ok" (KD703 said "ok: no kind clusters" before issue 25)."""
    res, _ = _diagnose({"FAKE_BREAK": "kind:hang"})
    doc = json.loads(res.stdout)
    assert doc["probes"]["kind"]["status"] == "timeout", doc["probes"]["kind"]
    assert doc["incomplete"] and res.returncode == 3
    kd703 = [f for f in doc["findings"] if f["id"] == "KD703"]
    assert kd703 and all(f["severity"] == "skipped" for f in kd703), kd703


def test_a_hanging_minikube_list_falls_back_on_the_profile_files(mac: FakeMachine) -> None:
    """`minikube profile list` hanging: the profiles are still read from their config.json files, so the probe
    looked (its status is ok), and KD503 says the list command timed out."""
    res, _ = _diagnose({"FAKE_BREAK": "minikube:hang"})
    doc = json.loads(res.stdout)
    assert doc["probes"]["minikube"]["status"] == "ok"
    kd503 = [f for f in doc["findings"] if f["id"] == "KD503"]
    assert any("timed out" in f["message"] and f["severity"] == "warning" for f in kd503), kd503


def test_hanging_credential_helper_times_out_to_unknown(machine: FakeMachine, tmp_path, registry, images) -> None:  # type: ignore[no-untyped-def]
    """A docker-credential helper that never answers: bounded by the runner's timeout, then anonymous."""
    helper = machine.bin / "docker-credential-stuck"
    helper.write_text("#!/bin/sh\nexec /bin/sleep 3600\n")
    helper.chmod(0o755)
    cfg = tmp_path / "docker"
    cfg.mkdir()
    (cfg / "config.json").write_text(json.dumps({"credsStore": "stuck"}))
    t0 = time.monotonic()
    res = run_kdoctor(
        "images",
        "-o",
        "json",
        "--platform",
        "linux/arm64",
        "--emulator",
        "qemu",
        "--no-suggest",
        images.ref("multi"),
        timeout=60,
        env={"DOCKER_CONFIG": str(cfg), "KDOCTOR_CACHE_DIR": str(tmp_path / "c")},
    )
    doc = json.loads(res.stdout)
    # The test registry needs no login, so the stuck helper costs time but not the answer.
    assert doc["images"][0]["verdict"] == "native" and time.monotonic() - t0 < 30
    assert "Traceback" not in res.stderr


@pytest.mark.parametrize("mode", ["exit", "garbage", "truncated"])
def test_broken_kind_and_minikube_during_up_is_a_clear_error(machine: FakeMachine, monkeypatch, mode) -> None:  # type: ignore[no-untyped-def]
    machine.install("uname", "sysctl", "sw_vers", "docker", "minikube", "kind", "kubectl")
    apple_silicon_env(monkeypatch)
    monkeypatch.setenv("FAKE_DOCKER_INFO", str(DATA / "docker" / "info-docker-desktop-arm64.json"))
    res = run_kdoctor(
        "up", "--profile", "minimal", "--wait-timeout", "3", timeout=90, env={"FAKE_BREAK": f"minikube:{mode}"}
    )
    assert "Traceback" not in res.stderr
    assert res.returncode != 0 and "minikube" in (res.stderr + res.stdout)
    assert not [c for c in machine.calls("minikube") if c[:1] == ["delete"]]


@pytest.mark.parametrize(
    ("rel", "content", "needle", "info"),
    [
        (
            "Library/Group Containers/group.com.docker/settings-store.json",
            '{"UseLibkrun": tr',
            "settings-store.json",
            "info-docker-desktop-arm64.json",
        ),
        (".colima/default/colima.yaml", "vmType: [vz\n", "colima.yaml", "info-colima-arm64.json"),
        (
            ".minikube/profiles/broken/config.json",
            '{"Name": "broken",',
            "broken/config.json",
            "info-docker-desktop-arm64.json",
        ),
        (".kube/config", "apiVersion: v1\nclusters: [\n", None, "info-docker-desktop-arm64.json"),
    ],
)
def test_malformed_files_are_named_in_findings(
    mac: FakeMachine, monkeypatch: pytest.MonkeyPatch, rel: str, content: str, needle: str | None, info: str
) -> None:
    monkeypatch.setenv("FAKE_DOCKER_INFO", str(DATA / "docker" / info))
    if "docker-desktop" not in info:  # another engine answers: Docker Desktop's platform name is not there
        monkeypatch.delenv("FAKE_DOCKER_DESKTOP")
    mac.write(rel, content)
    if needle is None:
        return  # kubectl (the fake) does not read kubeconfig; the real one's error lands in KD704's message
    res = run_kdoctor("diagnose", "-o", "json", "--images-budget", "0", timeout=60)
    assert "Traceback" not in res.stderr
    doc = json.loads(res.stdout)
    named = [f for f in doc["findings"] if needle in f["message"] and f["severity"] in ("warning", "error")]
    assert named, [f["message"] for f in doc["findings"] if f["severity"] != "ok"]


@pytest.mark.parametrize("step", range(1, 13))
def test_up_interrupted_at_every_step_converges(
    machine: FakeMachine, monkeypatch: pytest.MonkeyPatch, step: int
) -> None:
    """SIGINT or SIGTERM after the step-th tool call of `up --profile dev`; a re-run converges to the same
    cluster as an uninterrupted run, and nothing is ever deleted."""
    import signal

    machine.install("uname", "sysctl", "sw_vers", "docker", "minikube", "kind", "kubectl")
    apple_silicon_env(monkeypatch)
    monkeypatch.setenv("FAKE_DOCKER_INFO", str(DATA / "docker" / "info-docker-desktop-arm64.json"))
    env = {**os.environ, "FAKE_DELAY": "0.15", "FAKE_DELAY_TOOLS": "minikube,docker,kubectl"}
    # Skip the facts-gathering calls: count from the first call `up` itself makes.
    baseline = run_kdoctor("up", "--profile", "dev", "--dry-run", env=env, inherit_env=False)
    assert baseline.returncode == 0
    start = len(machine.calls())
    proc = subprocess.Popen(
        [*KDOCTOR, "up", "--profile", "dev", "--wait-timeout", "5"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(machine.calls()) < start + 12 + step and proc.poll() is None:
        time.sleep(0.02)
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT if step % 2 else signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert "Traceback" not in err
    assert proc.returncode in (0, 130), err
    res = run_kdoctor(
        "up", "--profile", "dev", "-o", "json", "--wait-timeout", "5", env={**os.environ}, inherit_env=False
    )
    doc = json.loads(res.stdout)
    assert res.returncode == 0, res.stderr
    assert doc["action"] in ("created", "started", "unchanged", "updated")
    cfg = json.loads((machine.home / ".minikube/profiles/kdoctor-dev/config.json").read_text())
    assert (cfg["CPUs"], cfg["Memory"]) == (4, 7936)
    reg = json.loads((machine.state / "docker" / "kdoctor-registry.json").read_text())
    assert reg["State"] == "running" and "kdoctor-dev" in reg["_networks"]
    cms = {p.stem for p in (machine.state / "kube" / "kdoctor-dev").glob("*.json")}
    assert cms == {"kube-public__kdoctor-profile", "kube-public__local-registry-hosting"}
    assert not [c for c in machine.calls("minikube") if c[:1] == ["delete"]]
