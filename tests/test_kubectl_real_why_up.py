"""`kdoctor why POD` and `kdoctor up` run like a user, with the real kubectl against the recorded API server.

`why`: the recorded CrashLoopBackOff pod with the real lfstack log (tests/data/why/logs.yaml) as its previous log,
the recorded ImagePullBackOff pod with its events, a deleted pod. `up`: minikube and docker stay fakes (they cannot
run here); the kubeconfig's `kdoctor-dev` context points at the recorded server, which keeps the ConfigMaps `up`
writes, so a second run reads them back.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import yaml

from tests.apiserver import FIXTURES
from tests.conftest import DATA
from tests.support import kubereal
from tests.support.kubereal import Kube, node
from tests.support.registry_fixtures import Images

kube = kubereal.kube

CRASH_NS, CRASH_POD = "ccccs", "code-i-multi-container-7bb85795f4-sbmpc"
PULL_POD = "foo-4setj4y6-7cdf7ddc54-n5fhd"
LOGS = yaml.safe_load((DATA / "why" / "logs.yaml").read_text())
LFSTACK = next(f for f in LOGS if f["signature"] == "go-lfstack-push")["log"]


def fixture(rel: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((FIXTURES / f"{rel}.json").read_text())
    return doc


def with_image(pod: dict[str, Any], container: str, image: str) -> dict[str, Any]:
    """The recorded pod with one container's image swapped for a registry-fixture image (spec and status)."""
    pod = copy.deepcopy(pod)
    for c in pod["spec"]["containers"] + (pod["status"].get("containerStatuses") or []):
        if c["name"] == container:
            c["image"] = image
    return pod


# --- why -------------------------------------------------------------------------------------------


def test_why_crashloop_with_the_lfstack_log_as_previous_log(kube: Kube, images: Images) -> None:
    ref = images.ref("amd64only")
    kube.server.load(node(), with_image(fixture("pods/crashloop-multi-container"), "multi-container2", ref))
    kube.server.set_log(CRASH_NS, CRASH_POD, "multi-container2", LFSTACK, previous=True)
    code, doc, err = kube.kdoctor("why", CRASH_POD, "-n", CRASH_NS, "--emulator", "qemu", "-o", "json")
    assert code == 0, err
    assert doc["explained"] and doc["node"] == "minikube" and doc["node_arch"] == "arm64"
    by_name = {c["name"]: c for c in doc["containers"]}
    assert not by_name["multi-container1"]["failing"]
    c = by_name["multi-container2"]
    assert (c["state"], c["reason"], c["restarts"], c["last_exit_code"]) == ("waiting", "CrashLoopBackOff", 1, 1)
    assert c["signatures"][0]["id"] == "go-lfstack-push"
    assert c["signatures"][0]["where"] == "logs (previous container)"
    assert c["image_verdict"]["verdict"] == "crash" and c["image_verdict"]["go"]["version"] == "go1.19.8"
    # kdoctor's argv as the server saw it: the previous log of the failing container, bounded
    prev = [
        r
        for r in kube.server.requests_to(f"/api/v1/namespaces/{CRASH_NS}/pods/{CRASH_POD}/log")
        if r.param("previous") == "true"
    ]
    assert [(r.param("container"), r.param("tailLines"), r.param("limitBytes"), r.status) for r in prev] == [
        ("multi-container2", "400", "262144", 200)
    ]
    (events,) = kube.server.requests_to(f"/api/v1/namespaces/{CRASH_NS}/events")
    assert events.param("fieldSelector") == f"involvedObject.name={CRASH_POD}"


def test_why_crashloop_as_recorded_is_an_exec_format_error(kube: Kube) -> None:
    """The recorded pod as it is, with its recorded log (cilium/tetragon#2309): exec format error."""
    kube.server.load("default")
    code, doc, err = kube.kdoctor("why", CRASH_POD, "-n", CRASH_NS, "--emulator", "qemu", "-o", "json")
    assert code == 0, err
    (c,) = [c for c in doc["containers"] if c["failing"]]
    assert c["name"] == "multi-container2" and c["signatures"][0]["id"] == "exec-format-error"
    assert "Back-off restarting failed container" in " ".join(doc["events"])
    # the registry host of the recorded image does not exist: the verdict is unknown, the explanation stands
    assert c["image_verdict"]["verdict"] == "unknown"


def test_why_image_pull_backoff_from_events(kube: Kube, images: Images) -> None:
    ref = images.ref("amd64only-index")
    kube.server.load(node(), with_image(fixture("pods/imagepullbackoff"), "nginx", ref))
    pod_uid = kube.server.get("pods", PULL_POD, "default")["metadata"]["uid"]  # type: ignore[index]
    event = json.loads((FIXTURES / "events" / "pod-events.json").read_text())[2]  # the pod's recorded `Failed` event
    assert event["reason"] == "Failed"
    event = copy.deepcopy(event)
    event["metadata"]["name"] = f"{PULL_POD}.pull-arm64"
    event["involvedObject"]["uid"] = pod_uid
    # containerd's wording for an index without the node's platform (the signature's source threads)
    event["message"] = (
        f'Failed to pull image "{ref}": no matching manifest for linux/arm64/v8 in the manifest list entries'
    )
    kube.server.load({"apiVersion": "v1", "kind": "Event", **event})
    code, doc, err = kube.kdoctor("why", PULL_POD, "--emulator", "qemu", "-o", "json")
    assert code == 0, err
    (c,) = doc["containers"]
    assert c["reason"] == "ImagePullBackOff" and c["failing"]
    assert [s["id"] for s in c["signatures"]] == ["pull-no-matching-manifest"]
    assert c["image_verdict"]["verdict"] == "unsupported"
    assert any("no matching manifest for linux/arm64/v8" in e for e in doc["events"])
    # a pod that never ran has no logs to ask for
    assert not kube.server.requests_to(f"/api/v1/namespaces/default/pods/{PULL_POD}/log")


def test_why_image_pull_backoff_as_recorded_is_unexplained(kube: Kube) -> None:
    """`pull access denied` (the image `sdkjlsdlkj` does not exist) is no platform problem: no signature, exit 1,
    and the events say what was seen."""
    kube.server.load("default")
    code, doc, err = kube.kdoctor("why", PULL_POD, "-o", "json", "--emulator", "qemu")
    assert code == 1, err
    assert doc["explained"] is False
    assert any(e.startswith("Failed: Failed to pull image") for e in doc["events"]), doc["events"]


def test_why_deleted_pod_is_exit_3(kube: Kube) -> None:
    kube.server.load("default")
    kube.server.not_found(CRASH_POD)
    res = kube.kdoctor_text("why", CRASH_POD, "-n", CRASH_NS)
    assert res.returncode == 3, res.stderr
    assert f"pod {CRASH_NS}/{CRASH_POD} does not exist" in res.stdout + res.stderr
    assert "Traceback" not in res.stderr


def test_why_with_events_forbidden_still_explains(kube: Kube) -> None:
    kube.server.load("default")
    kube.server.forbid("events", "list")
    code, doc, err = kube.kdoctor("why", CRASH_POD, "-n", CRASH_NS, "--emulator", "qemu", "-o", "json")
    assert code == 0, err
    (c,) = [c for c in doc["containers"] if c["failing"]]
    assert c["signatures"][0]["id"] == "exec-format-error"
    assert doc["events"] == []
    assert doc["notes"] == [
        'events not read: Error from server (Forbidden): events is forbidden: User "kdoctor-admin" cannot list '
        f'resource "events" in API group "" in the namespace "{CRASH_NS}"'
    ]


def test_why_previous_log_forbidden_is_a_note(kube: Kube) -> None:
    kube.server.load("default")
    kube.server.forbid("pods/log", "get")
    code, doc, err = kube.kdoctor("why", CRASH_POD, "-n", CRASH_NS, "--emulator", "qemu", "-o", "json")
    assert code == 1, err  # the log held the evidence; without it nothing matches
    denied = (
        'Error from server (Forbidden): pods "code-i-multi-container-7bb85795f4-sbmpc" is forbidden: User '
        '"kdoctor-admin" cannot get resource "pods/log" in API group "" in the namespace "ccccs"'
    )
    assert f"previous log of multi-container2 not read: {denied}" in doc["notes"]


def test_why_unknown_context_is_not_a_deleted_pod(kube: Kube) -> None:
    kube.server.load("default")
    res = kube.kdoctor_text("why", CRASH_POD, "-n", CRASH_NS, "--context", "other")
    assert res.returncode == 3, res.stderr
    out = res.stdout + res.stderr
    # kubectl's two wordings for it, both seen here (which one depends on the client the dispatcher runs)
    assert 'error: context "other" does not exist' in out or (
        "Error in configuration: context was not found for specified context: other" in out
    )
    assert f"pod {CRASH_NS}/{CRASH_POD} does not exist" not in out


# --- up --------------------------------------------------------------------------------------------


def up_env(kube: Kube) -> None:
    """minikube and docker fakes on the Mac; the profile's context `kdoctor-dev` reaches the recorded server."""
    kube.machine.install("docker", "minikube")
    kubeconfig = kube.server.write_kubeconfig(kube.machine.root / "kubeconfig", {"kdoctor-dev": {}})
    kube.env.update(
        KUBECONFIG=str(kubeconfig),
        FAKE_DOCKER_INFO=str(DATA / "docker" / "info-docker-desktop-arm64.json"),
        KDOCTOR_PROFILE_DIR=str(kube.machine.root / "profiles"),
    )
    kube.server.load(node("kdoctor-dev"))  # minikube names a profile's first node after the profile


def test_up_waits_for_readiness_and_records_configmaps(kube: Kube) -> None:
    up_env(kube)
    code, doc, err = kube.kdoctor("up", "--profile", "dev", "-o", "json", "--wait-timeout", "20")
    assert code == 0, (err, doc)
    assert doc["action"] == "created"
    cms = kube.server.configmaps
    record = cms[("kube-public", "kdoctor-profile")]["data"]
    assert json.loads(record["plan.json"])["addons"] == ["metrics-server", "ingress"]
    assert yaml.safe_load(record["profile.yaml"])["name"] == "dev"
    hosting = cms[("kube-public", "local-registry-hosting")]["data"]["localRegistryHosting.v1"]
    assert 'host: "localhost:5001"' in hosting
    calls = kube.api_calls()
    assert "GET /readyz" in calls and "GET /api/v1/nodes" in calls
    assert calls.index("GET /readyz") < calls.index("POST /api/v1/namespaces/kube-public/configmaps")

    # The server kept the record: a second run reads it back and changes nothing.
    before = len(kube.server.requests)
    code, doc, err = kube.kdoctor("up", "--profile", "dev", "-o", "json", "--wait-timeout", "20")
    assert code == 0 and doc["action"] == "unchanged", (err, doc)
    again = kube.server.requests[before:]
    assert any(r.path == "/api/v1/namespaces/kube-public/configmaps/kdoctor-profile" for r in again)
    assert not [r for r in again if r.method in ("POST", "PUT", "DELETE")]


def test_up_reports_a_cluster_that_does_not_become_ready(kube: Kube) -> None:
    up_env(kube)
    kube.server.unready("etcd")
    code, doc, err = kube.kdoctor("up", "--profile", "dev", "-o", "json", "--wait-timeout", "3")
    assert code == 1, (err, doc)
    assert doc["message"] == "the cluster did not become ready within 3s: /readyz: failing checks: etcd"
    assert ("kube-public", "kdoctor-profile") not in kube.server.configmaps


def test_up_with_amd64_nodes_fails_the_run(kube: Kube) -> None:
    up_env(kube)
    kube.server.load(node("kdoctor-dev", "amd64"))  # replaces the arm64 node of the same name
    code, doc, err = kube.kdoctor("up", "--profile", "dev", "-o", "json", "--wait-timeout", "20")
    assert code == 1, (err, doc)
    assert doc["message"] == "the cluster is up but its nodes are not arm64 (kdoctor-dev=amd64): everything is emulated"


def test_up_says_why_configmaps_could_not_be_written(kube: Kube) -> None:
    up_env(kube)
    kube.server.forbid("configmaps", "create", namespace="kube-public")
    code, doc, err = kube.kdoctor("up", "--profile", "dev", "-o", "json", "--wait-timeout", "20")
    assert code == 0 and doc["action"] == "created", (err, doc)  # the cluster is up; the records are extras
    for what in ("advertise the registry (kube-public/local-registry-hosting)",
                 "record the applied profile in the cluster (kube-public/kdoctor-profile)"):  # fmt: skip
        (step,) = [s for s in doc["steps"] if s.startswith(f"could not {what}: ")]
        assert "Error from server (Forbidden)" in step and 'cannot create resource "configmaps"' in step, step
    assert not kube.server.configmaps
