"""`kdoctor diagnose` and `kdoctor images` run like a user, with the real kubectl against the recorded API server.

Expected findings are written from the fixtures (tests/apiserver/fixtures/SOURCES.md) and kubectl's own texts as
tests/test_apiserver.py pins them. Faults: Forbidden lists, a list slower than diagnose's request timeout (QUICK,
3 s), a server that is down, a client/server skew the dispatcher cannot bridge.
"""

from __future__ import annotations

import json
import time

import pytest

from tests import apiserver
from tests.apiserver import running_api_server
from tests.support import kubereal
from tests.support.kubereal import Kube, node
from tests.support.registry_fixtures import Images

kube = kubereal.kube

CRASH_NS, CRASH_POD = "ccccs", "code-i-multi-container-7bb85795f4-sbmpc"
PULL_POD = "foo-4setj4y6-7cdf7ddc54-n5fhd"
CRASH_IMAGE = "registry.saas.test.com/code-x-code-x/code-i:2018.12.24-104231-multi-container"
FORBIDDEN_NODES = (
    'Error from server (Forbidden): nodes is forbidden: User "kdoctor-admin" cannot list resource "nodes" in API '
    'group "" at the cluster scope'
)
FORBIDDEN_PODS = (
    'Error from server (Forbidden): pods is forbidden: User "kdoctor-admin" cannot list resource "pods" in API '
    'group "" at the cluster scope'
)
TIMEOUT_TEXTS = {  # tests/test_apiserver.py: what kubectl prints when --request-timeout runs out
    "Unable to connect to the server: context deadline exceeded (Client.Timeout exceeded while awaiting headers)",
    "Unable to connect to the server: net/http: request canceled (Client.Timeout exceeded while awaiting headers)",
    "Unable to connect to the server: context deadline exceeded",
}


def diagnose(kube: Kube, *extra: str) -> tuple[int, dict, str]:
    return kube.kdoctor("diagnose", "-o", "json", "--only", "kubernetes", "--images-budget", "0", *extra)


def findings(doc: dict, check: str) -> list[tuple[str, str]]:
    return [(f["severity"], f["message"]) for f in doc["findings"] if f["id"] == check]


# --- diagnose ------------------------------------------------------------------------------------


def test_diagnose_reads_version_nodes_and_failing_pods(kube: Kube) -> None:
    kube.server.load("default")
    code, doc, err = diagnose(kube)
    assert code == 0, err
    assert findings(doc, "KD704") == [("ok", "context 'kdoctor-test' answers (Kubernetes v1.30.0)")]
    assert findings(doc, "KD705") == [("ok", "1 node(s), all arm64")]
    kd706 = [f for f in doc["findings"] if f["id"] == "KD706"]
    assert [(f["severity"], f["subject"], f["data"]["reason"], f["data"]["container"]) for f in kd706] == [
        ("warning", f"{CRASH_NS}/{CRASH_POD}", "CrashLoopBackOff", "multi-container2"),
        ("warning", f"default/{PULL_POD}", "ImagePullBackOff", "nginx"),
    ]
    assert kd706[0]["commands"] == [f"kdoctor why {CRASH_POD} -n {CRASH_NS}"]
    assert kd706[0]["data"]["image"] == CRASH_IMAGE
    for name in ("kubectl", "kubectl.nodes", "kubectl.pods"):
        assert doc["probes"][name]["status"] == "ok", name
    # kdoctor's argv as the server saw it: each list once, bounded by --request-timeout=3s (QUICK)
    nodes = kube.server.requests_to("/api/v1/nodes")
    pods = kube.server.requests_to("/api/v1/pods")
    assert [r.param("timeout") for r in nodes + pods] == ["3s", "3s"]
    assert all(r.status == 200 for r in nodes + pods)


def test_amd64_node_on_apple_silicon_is_kd705_warning(kube: Kube) -> None:
    kube.server.load(node("minikube", "arm64"), node("minikube-m02", "amd64"))
    code, doc, err = diagnose(kube)
    assert code == 0, err
    assert findings(doc, "KD705") == [
        ("warning", "node 'minikube-m02' is amd64: on this Apple Silicon Mac everything it runs is emulated")
    ]
    assert findings(doc, "KD706") == [("ok", "no pod is crash-looping or failing to pull")]


def test_client_server_skew_is_kd702(tmp_path, kube: Kube) -> None:
    """A v1.25 server: the Google Cloud SDK dispatcher ships no kubectl.1.25 and answers itself (v1.32.4); a plain
    kubectl 1.32 does the same. Either way 7 minor versions apart."""
    recorded = json.loads((apiserver.FIXTURES / "version.json").read_text())
    v125 = {**recorded, "minor": "25", "gitVersion": "v1.25.16"}
    with running_api_server(tmp_path / "old", version=v125) as old:
        old.load("default")
        kube.env.update(apiserver.kubectl_env(old), PATH=kube.env["PATH"])
        code, doc, err = diagnose(kube)
    assert code == 0, err
    ((severity, message),) = findings(doc, "KD702")
    assert severity == "warning"
    assert message.startswith("kubectl v1.32.") and message.endswith(
        "is 7 minor versions newer than the API server v1.25.16; kubectl is supported within one minor version"
    )


def test_no_skew_when_the_client_matches(kube: Kube) -> None:
    code, doc, err = diagnose(kube)
    assert code == 0, err
    ((severity, message),) = findings(doc, "KD702")
    client_minor = int(message.split()[1].split(".")[1])  # "kubectl v1.30.13 vs server v1.30.0"
    assert severity == ("ok" if abs(client_minor - 30) <= 1 else "warning"), message


@pytest.mark.parametrize("resource", ["nodes", "pods"])
def test_forbidden_list_is_a_failed_probe_with_kubectls_text(kube: Kube, resource: str) -> None:
    kube.server.load("default")
    kube.server.forbid(resource, "list")
    code, doc, err = diagnose(kube)
    assert code in (0, 3), err
    other = "pods" if resource == "nodes" else "nodes"
    assert doc["probes"][f"kubectl.{resource}"] == {
        "status": "denied",  # Forbidden: the list is there but would not be shown
        "reason": FORBIDDEN_NODES if resource == "nodes" else FORBIDDEN_PODS,
        "duration_ms": 0,
    }
    assert doc["probes"][f"kubectl.{other}"]["status"] == "ok"  # one denial does not hide the other list
    assert doc["probes"]["kubectl"]["status"] == "ok"
    assert findings(doc, "KD704")[0][0] == "ok"  # the server answers: only the list was denied
    if resource == "nodes":
        assert len(findings(doc, "KD706")) == 2 and findings(doc, "KD706")[0][0] == "warning"
    else:
        assert findings(doc, "KD705") == [("ok", "1 node(s), all arm64")]


def test_slow_lists_time_out_as_failed_probes(kube: Kube) -> None:
    kube.server.load("default")
    kube.server.delay("/api/v1/nodes", 8)
    kube.server.delay("/api/v1/pods", 8)
    started = time.monotonic()
    code, doc, err = diagnose(kube)
    took = time.monotonic() - started
    assert code in (0, 3), err
    for name in ("kubectl.nodes", "kubectl.pods"):
        assert doc["probes"][name]["status"] == "timeout", doc["probes"]
        assert doc["probes"][name]["reason"] in TIMEOUT_TEXTS
    assert took < 30  # generous: the bound is kubectl's 3 s request timeout, not the 8 s answer


def test_dropped_connection_records_kubectls_message_not_its_log_line(kube: Kube) -> None:
    """kubectl prints a klog line (`E1205 … request.go:…] Unexpected error …`) before its own message: the record
    holds the message."""
    kube.server.load("default")
    kube.server.drop("/api/v1/nodes")
    code, doc, err = diagnose(kube)
    assert code in (0, 3), err
    assert doc["probes"]["kubectl.nodes"] == {
        "status": "error",
        "reason": "error: unexpected error when reading response body. Please retry. Original error: unexpected EOF",
        "duration_ms": 0,
    }


@pytest.mark.parametrize("fault", ["forbidden", "slow"])
def test_kd705_kd706_are_skipped_when_their_list_failed(kube: Kube, fault: str) -> None:
    """The engine's rule (kdoctor/checks/run.py): a check whose probe failed is `skipped`, never `ok`; KD706's
    catalogue entry says a denied pod list is worth a warning (`on_denied`), since it hides failing pods."""
    kube.server.load("default")
    for resource in ("nodes", "pods"):
        if fault == "forbidden":
            kube.server.forbid(resource, "list")
        else:
            kube.server.delay(f"/api/v1/{resource}", 8)
    code, doc, err = diagnose(kube)
    for check in ("KD705", "KD706"):
        ((severity, message),) = findings(doc, check)
        wanted = "warning" if (check, fault) == ("KD706", "forbidden") else "skipped"
        assert severity == wanted, (check, message)
        expected = {FORBIDDEN_NODES, FORBIDDEN_PODS} if fault == "forbidden" else TIMEOUT_TEXTS
        assert any(text in message for text in expected), message
    assert code == 3, err  # "some checks could not run and nothing worse was found"


def test_server_down(kube: Kube) -> None:
    port = kube.server.port
    kube.server.down()
    started = time.monotonic()
    code, doc, err = diagnose(kube)
    assert time.monotonic() - started < 30
    assert code == 0, err
    refused = f"The connection to the server 127.0.0.1:{port} was refused - did you specify the right host or port?"
    assert findings(doc, "KD704") == [("warning", f"the current context 'kdoctor-test' does not answer: {refused}")]
    for name in ("kubectl.nodes", "kubectl.pods"):  # not a failure of the lists: there is no server (KD704 says so)
        assert doc["probes"][name] == {"status": "missing", "reason": refused, "duration_ms": 0}


def test_diagnose_judges_the_cluster_images(kube: Kube, images: Images) -> None:
    """The images phase (kdoctor/images/cluster.py) lists the workloads through kubectl and judges them: an amd64-only
    Go 1.19 image on an arm64 node under QEMU crashes (KD801 error)."""
    ref = images.ref("amd64only")
    deployment = json.loads((apiserver.FIXTURES / "workloads" / "deployment.json").read_text())
    deployment["spec"]["template"]["spec"]["containers"][0]["image"] = ref
    kube.server.load(node(), deployment)
    # No docker on this PATH: the emulator is unknown, and Go entrypoints are judged for the worst case (QEMU).
    code, doc, err = kube.kdoctor("diagnose", "-o", "json", "--only", "KD801", "--images-budget", "20")
    assert code == 1, err
    ((f),) = [f for f in doc["findings"] if f["id"] == "KD801"]
    assert f["severity"] == "error" and ref in f["message"], f
    assert doc["probes"]["images"]["status"] == "ok"
    assert "GET /apis/apps/v1/deployments" in kube.api_calls()


# --- images -A / -n ------------------------------------------------------------------------------

ALL_REFS = {
    CRASH_IMAGE,
    "sdkjlsdlkj",
    "blang/busybox-bash",
    "gcr.io/stackdriver-agents/stackdriver-logging-agent:0.6-1.6.0-1",
    "k8s.gcr.io/prometheus-to-sd:v0.3.1",
    "postgres:9.2-alpine",
    "k8s.gcr.io/nginx-slim:0.8",
}
DEFAULT_NS_REFS = {"sdkjlsdlkj", "blang/busybox-bash", "k8s.gcr.io/nginx-slim:0.8"}


def test_images_all_namespaces_finds_every_workload_image(kube: Kube) -> None:
    """Lookups are not the point here (these registries are not reachable): the references kubectl's lists gave."""
    kube.server.load("default")
    code, doc, err = kube.kdoctor("images", "-A", "-o", "json", "--no-suggest", "--timeout", "2")
    assert code in (0, 1, 3), err
    assert {i["ref"] for i in doc["images"]} == ALL_REFS
    assert doc["platform"] == "linux/arm64"  # the cluster's node architecture
    calls = kube.api_calls()
    for path in ("/api/v1/pods", "/apis/apps/v1/deployments", "/apis/apps/v1/statefulsets",
                 "/apis/apps/v1/daemonsets", "/apis/batch/v1/jobs", "/apis/batch/v1/cronjobs"):  # fmt: skip
        assert f"GET {path}" in calls


def test_images_in_one_namespace(kube: Kube) -> None:
    kube.server.load("default")
    code, doc, err = kube.kdoctor("images", "-n", "default", "-o", "json", "--no-suggest", "--timeout", "2")
    assert code in (0, 1, 3), err
    assert {i["ref"] for i in doc["images"]} == DEFAULT_NS_REFS
    assert "GET /api/v1/namespaces/default/pods" in kube.api_calls()
    assert "GET /api/v1/pods" not in kube.api_calls()


def test_images_namespace_with_verdicts_from_the_registry(kube: Kube, images: Images) -> None:
    crash, native = images.ref("amd64only"), images.ref("multi")
    pod = json.loads((apiserver.FIXTURES / "pods" / "imagepullbackoff.json").read_text())
    pod["metadata"]["namespace"] = "apps"
    pod["spec"]["containers"][0]["image"] = crash
    sts = json.loads((apiserver.FIXTURES / "workloads" / "statefulset.json").read_text())
    sts["metadata"]["namespace"] = "apps"
    sts["spec"]["template"]["spec"]["containers"][0]["image"] = native
    kube.server.load(node(), {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "apps"}}, pod, sts)
    code, doc, err = kube.kdoctor("images", "-n", "apps", "-o", "json", "--no-suggest", "--emulator", "qemu")
    assert code == 1, err
    verdicts = {i["ref"]: i["verdict"] for i in doc["images"]}
    assert verdicts == {crash: "crash", native: "native"}
    (c,) = [i for i in doc["images"] if i["ref"] == crash]
    assert c["go"]["version"] == "go1.19.8"


def test_images_forbidden_workloads_say_kubectls_reason(kube: Kube) -> None:
    kube.server.load("default")
    kube.server.forbid("deployments", "list")
    res = kube.kdoctor_text("images", "-A", "--no-suggest", "--timeout", "2")
    assert res.returncode not in (0, 1, 70), res.stderr
    assert "Traceback" not in res.stderr
    assert (
        'deployments.apps is forbidden: User "kdoctor-admin" cannot list resource "deployments" in API group "apps"'
        in res.stdout + res.stderr
    )
