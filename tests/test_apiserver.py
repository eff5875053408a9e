"""The real kubectl against the recorded API server (tests/apiserver): what it asks, and what it prints.

Each stderr text asserted here is what kubectl printed in these runs; these are the texts kdoctor parses.
/usr/bin/kubectl on the reference machine is the Google Cloud SDK build: a dispatcher that first asks
GET /version?timeout=5s and then runs the kubectl.1.NN it ships for the server's minor version (1.27 to 1.33),
itself (v1.32.4) when it has none or the server does not answer. With the fixture's v1.30.0 the client is v1.30.x.
"""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from tests import apiserver
from tests.apiserver import ApiServer, kubectl, running_api_server

api_server = apiserver.api_server  # the fixture, imported explicitly

CRASH_NS, CRASH_POD = "ccccs", "code-i-multi-container-7bb85795f4-sbmpc"
PULL_POD = "foo-4setj4y6-7cdf7ddc54-n5fhd"

# What kubectl (1.30 and 1.32 alike) prints when --request-timeout runs out while it waits for response headers.
# Which of the three comes out depends on whether Go's transport or the context notices first: all were seen,
# for the same command, in consecutive runs.
TIMEOUT_TEXTS = {
    "Unable to connect to the server: context deadline exceeded (Client.Timeout exceeded while awaiting headers)",
    "Unable to connect to the server: net/http: request canceled (Client.Timeout exceeded while awaiting headers)",
    "Unable to connect to the server: context deadline exceeded",
}


def api_calls(server: ApiServer) -> list[str]:
    """Requests kubectl itself made: the dispatcher's version probe is left out."""
    return [
        f"{r.method} {r.path}" for r in server.requests if not (r.path == "/version" and r.param("timeout") == "5s")
    ]


# --- reads ---------------------------------------------------------------------------------------


def test_version_reports_the_server(api_server: ApiServer) -> None:
    res = kubectl(api_server, "version", "-o", "json", "--request-timeout=3s")
    assert res.returncode == 0, res.stderr
    doc = res.json()
    assert doc["serverVersion"] == json.loads((apiserver.FIXTURES / "version.json").read_text())
    assert doc["serverVersion"]["gitVersion"] == "v1.30.0"
    client_minor = int(doc["clientVersion"]["minor"].rstrip("+"))
    if abs(client_minor - 30) > 1:  # a plain kubectl 1.32 (no dispatcher) warns about the skew, and still exits 0
        assert res.stderr == (
            f"WARNING: version difference between client (1.{client_minor}) and server (1.30) exceeds the "
            "supported minor version skew of +/-1\n"
        )
    else:
        assert res.stderr == ""


def test_get_nodes_has_the_arm64_node(api_server: ApiServer) -> None:
    api_server.load("nodes/minikube-arm64")
    res = kubectl(api_server, "get", "nodes", "-o", "json", "--request-timeout=3s")
    assert res.returncode == 0, res.stderr
    doc = res.json()
    assert doc["kind"] == "List" and doc["apiVersion"] == "v1"
    (node,) = doc["items"]
    # The server sends NodeList items without kind/apiVersion, as kube-apiserver does; kubectl fills them in.
    assert (node["kind"], node["apiVersion"]) == ("Node", "v1")
    assert node["metadata"]["name"] == "minikube"
    assert node["status"]["nodeInfo"]["architecture"] == "arm64"
    assert node["metadata"]["labels"]["kubernetes.io/arch"] == "arm64"
    (req,) = api_server.requests_to("/api/v1/nodes")
    assert req.param("limit") == "500" and req.param("timeout") == "3s"
    assert "as=Table" not in req.headers["Accept"]  # -o json asks for plain JSON


def test_get_nodes_and_pods_all_namespaces_is_one_list(api_server: ApiServer) -> None:
    api_server.load("default")
    res = kubectl(api_server, "get", "nodes,pods", "-A", "-o", "json", "--request-timeout=3s")
    assert res.returncode == 0, res.stderr
    doc = res.json()
    assert doc["kind"] == "List"
    kinds = [(i["kind"], i["metadata"]["name"]) for i in doc["items"]]
    assert kinds == [("Node", "minikube"), ("Pod", CRASH_POD), ("Pod", PULL_POD)]
    assert {"GET /api/v1/nodes", "GET /api/v1/pods"} <= set(api_calls(api_server))


def test_get_workloads_all_namespaces(api_server: ApiServer) -> None:
    api_server.load("default")
    res = kubectl(
        api_server, "get", "pods,deployments,statefulsets,daemonsets,jobs,cronjobs", "-A", "-o", "json",
        "--request-timeout=10s",
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    doc = res.json()
    assert doc["kind"] == "List"
    kinds = sorted({(i["apiVersion"], i["kind"]) for i in doc["items"]})
    assert kinds == [
        ("apps/v1", "DaemonSet"),
        ("apps/v1", "Deployment"),
        ("apps/v1", "StatefulSet"),
        ("batch/v1", "CronJob"),
        ("batch/v1", "Job"),
        ("v1", "Pod"),
    ]
    images = {
        c["image"]
        for i in doc["items"]
        if i["kind"] == "Deployment"
        for c in i["spec"]["template"]["spec"]["containers"]
    }
    assert images == {"postgres:9.2-alpine"}
    paths = set(api_calls(api_server))
    for p in ("/api/v1/pods", "/apis/apps/v1/deployments", "/apis/apps/v1/statefulsets", "/apis/apps/v1/daemonsets",
              "/apis/batch/v1/jobs", "/apis/batch/v1/cronjobs"):  # fmt: skip
        assert f"GET {p}" in paths


def test_get_workloads_in_the_kubeconfig_namespace(api_server: ApiServer) -> None:
    api_server.load("default")
    res = kubectl(api_server, "get", "pods,statefulsets,jobs,cronjobs", "-o", "json")
    assert res.returncode == 0, res.stderr
    assert {i["metadata"]["namespace"] for i in res.json()["items"]} == {"default"}
    assert "GET /api/v1/namespaces/default/pods" in api_calls(api_server)


def test_events_for_one_pod(api_server: ApiServer) -> None:
    api_server.load("default")
    res = kubectl(
        api_server,
        "get",
        "events",
        "-n",
        CRASH_NS,
        "--field-selector",
        f"involvedObject.name={CRASH_POD}",
        "-o",
        "json",
    )
    assert res.returncode == 0, res.stderr
    doc = res.json()
    assert [(e["kind"], e["reason"]) for e in doc["items"]] == [("Event", "Pulled"), ("Event", "BackOff")]
    assert {e["involvedObject"]["name"] for e in doc["items"]} == {CRASH_POD}
    (req,) = api_server.requests_to(f"/api/v1/namespaces/{CRASH_NS}/events")
    assert req.param("fieldSelector") == f"involvedObject.name={CRASH_POD}"


def test_events_of_all_namespaces_and_a_bad_field_selector(api_server: ApiServer) -> None:
    api_server.load("events")
    res = kubectl(api_server, "get", "events", "-A", "-o", "json")
    assert res.returncode == 0 and len(res.json()["items"]) == 4
    assert api_server.requests_to("/api/v1/events")
    bad = kubectl(api_server, "get", "events", "-A", "--field-selector", "spec.nope=1", "-o", "json")
    assert bad.returncode == 1
    assert bad.stderr == (
        'Error from server (BadRequest): Unable to find "/v1, Resource=events" that match label selector "", '
        'field selector "spec.nope=1": field label not supported: spec.nope\n'
    )


def test_previous_logs_with_tail_and_limit(api_server: ApiServer) -> None:
    api_server.load("default")
    res = kubectl(
        api_server, "logs", CRASH_POD, "-n", CRASH_NS, "-c", "multi-container2", "--previous", "--tail=400",
        "--limit-bytes=262144", "--request-timeout=10s",
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert res.stdout == "exec /usr/bin/bash: exec format error\n"
    (req,) = api_server.requests_to(f"/api/v1/namespaces/{CRASH_NS}/pods/{CRASH_POD}/log")
    assert req.query == {
        "container": ["multi-container2"],
        "previous": ["true"],
        "tailLines": ["400"],
        "limitBytes": ["262144"],
        "timeout": ["10s"],
    }
    # kubectl reads the pod before its log
    calls = api_calls(api_server)
    assert calls.index(f"GET /api/v1/namespaces/{CRASH_NS}/pods/{CRASH_POD}") < calls.index(
        f"GET /api/v1/namespaces/{CRASH_NS}/pods/{CRASH_POD}/log"
    )


def test_tail_then_limit_bytes_cut_the_log(api_server: ApiServer) -> None:
    api_server.load("pods/crashloop-multi-container")
    api_server.set_log(
        CRASH_NS, CRASH_POD, "multi-container2", "".join(f"line {i}\n" for i in range(1000)), previous=True
    )
    res = kubectl(api_server, "logs", CRASH_POD, "-n", CRASH_NS, "-c", "multi-container2", "--previous", "--tail=400")
    lines = res.stdout.splitlines()
    assert (len(lines), lines[0], lines[-1]) == (400, "line 600", "line 999")
    res = kubectl(
        api_server, "logs", CRASH_POD, "-n", CRASH_NS, "-c", "multi-container2", "--previous", "--tail=400",
        "--limit-bytes=20",
    )  # fmt: skip
    assert res.stdout == "line 600\nline 601\nli"  # 20 bytes


def test_log_errors(api_server: ApiServer) -> None:
    api_server.load("default")
    none_before = kubectl(api_server, "logs", CRASH_POD, "-n", CRASH_NS, "-c", "multi-container1", "--previous")
    assert none_before.returncode == 1
    assert none_before.stderr == (
        f'Error from server (BadRequest): previous terminated container "multi-container1" in pod "{CRASH_POD}" '
        "not found\n"
    )
    pulling = kubectl(api_server, "logs", PULL_POD, "-c", "nginx")
    assert pulling.returncode == 1
    assert pulling.stderr == (
        f'Error from server (BadRequest): container "nginx" in pod "{PULL_POD}" is waiting to start: '
        "trying and failing to pull image\n"
    )


def test_readyz(api_server: ApiServer) -> None:
    res = kubectl(api_server, "get", "--raw", "/readyz", "--request-timeout=5s")
    assert (res.returncode, res.stdout, res.stderr) == (0, "ok", "")
    verbose = kubectl(api_server, "get", "--raw", "/readyz?verbose")
    assert verbose.stdout.splitlines()[0] == "[+]ping ok"
    assert verbose.stdout.endswith("readyz check passed\n")
    api_server.unready("etcd")
    failing = kubectl(api_server, "get", "--raw", "/readyz", "--request-timeout=5s")
    assert failing.returncode == 1
    assert failing.stderr.startswith(
        'Error from server (InternalError): an error on the server ("[+]ping ok\\n[+]log ok\\n[-]etcd failed: '
        "reason withheld\\n"
    )
    assert failing.stderr.endswith('readyz check failed") has prevented the request from succeeding\n')


def test_human_output_uses_server_tables(api_server: ApiServer) -> None:
    api_server.load("default")
    res = kubectl(api_server, "get", "pods", "-A")
    assert res.returncode == 0, res.stderr
    header, *rows = res.stdout.splitlines()
    assert header.split() == ["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert [r.split()[:4] for r in rows] == [
        [CRASH_NS, CRASH_POD, "1/2", "CrashLoopBackOff"],
        ["default", PULL_POD, "0/1", "ImagePullBackOff"],
    ]
    (req,) = api_server.requests_to("/api/v1/pods")
    assert req.headers["Accept"].startswith("application/json;as=Table;v=v1;g=meta.k8s.io")
    nodes = kubectl(api_server, "get", "nodes", "-o", "wide")
    header, row = nodes.stdout.splitlines()
    assert header.split()[:5] == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    cells = row.split()
    assert cells[:3] == ["minikube", "Ready", "control-plane"]
    assert cells[4:7] == ["v1.30.0", "192.168.49.2", "<none>"]
    assert cells[-2:] == ["6.3.13-linuxkit", "docker://26.1.1"]


# --- discovery -----------------------------------------------------------------------------------


def test_aggregated_discovery_is_asked_for_and_used(api_server: ApiServer) -> None:
    api_server.load("default")
    res = kubectl(api_server, "get", "deployments,cronjobs", "-A", "-o", "json")
    assert res.returncode == 0, res.stderr
    (api,) = api_server.requests_to("/api")
    (apis,) = api_server.requests_to("/apis")
    wanted = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
    assert api.headers["Accept"].startswith(wanted) and apis.headers["Accept"].startswith(wanted)
    calls = api_calls(api_server)
    assert not [c for c in calls if c in ("GET /api/v1", "GET /apis/apps/v1", "GET /apis/batch/v1")]


@pytest.mark.real  # runs the real kubectl
def test_plain_discovery_when_the_server_has_no_aggregated_discovery(tmp_path) -> None:
    apiserver.kubectl_path()
    with running_api_server(tmp_path, aggregated_discovery=False) as server:
        server.load("default")
        res = kubectl(server, "get", "pods,deployments,statefulsets,daemonsets,jobs,cronjobs", "-A", "-o", "json")
        assert res.returncode == 0, res.stderr
        assert res.stderr == ""
        assert len(res.json()["items"]) == 7
        calls = api_calls(server)
        for gv in ("GET /api", "GET /apis", "GET /api/v1", "GET /apis/apps/v1", "GET /apis/batch/v1"):
            assert gv in calls


# --- writes --------------------------------------------------------------------------------------


def _configmap(data: dict[str, str], name: str = "kdoctor-profile", ns: str = "kube-public") -> str:
    return json.dumps(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": ns}, "data": data}
    )


def test_apply_configmap_creates_then_patches(api_server: ApiServer) -> None:
    created = kubectl(api_server, "apply", "-f", "-", input=_configmap({"plan.json": "{}", "old": "1"}))
    assert (created.returncode, created.stdout, created.stderr) == (0, "configmap/kdoctor-profile created\n", "")
    assert api_server.configmaps[("kube-public", "kdoctor-profile")]["data"] == {"plan.json": "{}", "old": "1"}
    (post,) = api_server.requests_to("/api/v1/namespaces/kube-public/configmaps", "POST")
    assert post.query == {"fieldManager": ["kubectl-client-side-apply"], "fieldValidation": ["Strict"]}
    # Client-side apply validates against the OpenAPI v3 document first (no v3 and no v2 document: it stops).
    assert api_server.requests_to("/openapi/v3") and api_server.requests_to("/openapi/v3/api/v1")

    changed = kubectl(api_server, "apply", "-f", "-", input=_configmap({"plan.json": '{"k": 1}'}))
    assert (changed.returncode, changed.stdout, changed.stderr) == (0, "configmap/kdoctor-profile configured\n", "")
    (patch,) = api_server.requests_to("/api/v1/namespaces/kube-public/configmaps/kdoctor-profile", "PATCH")
    assert patch.headers["Content-Type"] == "application/strategic-merge-patch+json"
    assert json.loads(patch.body)["data"] == {"old": None, "plan.json": '{"k": 1}'}
    stored = api_server.configmaps[("kube-public", "kdoctor-profile")]
    assert stored["data"] == {"plan.json": '{"k": 1}'}
    assert "kubectl.kubernetes.io/last-applied-configuration" in stored["metadata"]["annotations"]

    same = kubectl(api_server, "apply", "-f", "-", input=_configmap({"plan.json": '{"k": 1}'}))
    assert same.stdout == "configmap/kdoctor-profile unchanged\n"

    got = kubectl(api_server, "get", "configmap", "kdoctor-profile", "-n", "kube-public", "-o", "json")
    assert got.returncode == 0
    assert got.json()["data"] == {"plan.json": '{"k": 1}'}
    assert got.json()["metadata"]["uid"] == stored["metadata"]["uid"]


def test_server_side_apply_and_missing_namespace(api_server: ApiServer) -> None:
    res = kubectl(api_server, "apply", "--server-side", "-f", "-", input=_configmap({"a": "1", "b": "2"}, ns="default"))
    assert (res.returncode, res.stdout) == (0, "configmap/kdoctor-profile serverside-applied\n")
    (req,) = api_server.requests_to("/api/v1/namespaces/default/configmaps/kdoctor-profile", "PATCH")
    assert req.headers["Content-Type"] == "application/apply-patch+yaml"
    assert req.query == {"fieldManager": ["kubectl"], "fieldValidation": ["Strict"], "force": ["false"]}
    kubectl(api_server, "apply", "--server-side", "-f", "-", input=_configmap({"a": "3"}, ns="default"))
    assert api_server.configmaps[("default", "kdoctor-profile")]["data"] == {"a": "3"}  # b was this manager's: gone

    nowhere = kubectl(api_server, "apply", "-f", "-", input=_configmap({"a": "1"}, ns="nowhere"))
    assert nowhere.returncode == 1
    assert nowhere.stderr == (
        'Error from server (NotFound): error when creating "STDIN": namespaces "nowhere" not found\n'
    )


@pytest.mark.real  # runs the real kubectl
def test_apply_without_openapi_documents_stops(tmp_path) -> None:
    """Why the server serves /openapi/v3: kubectl's default validation (strict, server-side) first asks the OpenAPI
    documents whether PATCH takes fieldValidation; with neither v3 nor v2 it gives up before sending anything."""
    apiserver.kubectl_path()
    with running_api_server(tmp_path, openapi_v3=False) as server:
        res = kubectl(server, "apply", "-f", "-", input=_configmap({"a": "1"}))
        assert res.returncode == 1
        assert res.stderr == (
            'error: error validating "STDIN": error validating data: failed to download openapi: the server could '
            "not find the requested resource; if you choose to ignore these errors, turn validation off with "
            "--validate=false\n"
        )
        assert not server.configmaps


# --- faults --------------------------------------------------------------------------------------


def test_forbidden_nodes(api_server: ApiServer) -> None:
    api_server.load("default")
    api_server.forbid("nodes", "list")
    res = kubectl(api_server, "get", "nodes", "-o", "json", "--request-timeout=3s")
    assert res.returncode == 1
    assert res.stderr == (
        'Error from server (Forbidden): nodes is forbidden: User "kdoctor-admin" cannot list resource "nodes" '
        'in API group "" at the cluster scope\n'
    )
    assert res.json()["items"] == []  # kubectl still prints an empty List on stdout
    (req,) = api_server.requests_to("/api/v1/nodes")
    assert req.status == 403
    # the same with the bearer-token user, for a namespaced list
    api_server.forbid("pods", "list")
    token_kc = api_server.write_kubeconfig(api_server.workdir / "token.kubeconfig", {"sa": {"auth": "token"}})
    pods = kubectl(api_server, "get", "pods", "-n", "ccccs", "-o", "json", kubeconfig=token_kc)
    assert pods.stderr == (
        'Error from server (Forbidden): pods is forbidden: User "system:serviceaccount:default:kdoctor" cannot '
        'list resource "pods" in API group "" in the namespace "ccccs"\n'
    )


def test_request_timeout(api_server: ApiServer) -> None:
    api_server.load("default")
    api_server.delay("/api/v1/nodes", 3)
    res = kubectl(api_server, "get", "nodes", "-o", "json", "--request-timeout=1s")
    assert res.returncode == 1
    assert res.seconds < 2.8
    assert res.stderr.strip() in TIMEOUT_TEXTS


def test_deleted_pod_is_not_found(api_server: ApiServer) -> None:
    api_server.load("default")
    api_server.not_found(CRASH_POD)
    res = kubectl(api_server, "get", "pod", CRASH_POD, "-n", CRASH_NS, "-o", "json", "--request-timeout=10s")
    assert res.returncode == 1
    assert res.stderr == f'Error from server (NotFound): pods "{CRASH_POD}" not found\n'
    logs = kubectl(api_server, "logs", CRASH_POD, "-n", CRASH_NS, "-c", "multi-container2", "--previous")
    assert (
        logs.stderr == f'error: error from server (NotFound): pods "{CRASH_POD}" not found in namespace "{CRASH_NS}"\n'
    )


def test_dropped_connection(api_server: ApiServer) -> None:
    api_server.load("default")
    api_server.drop("/api/v1/nodes")
    res = kubectl(api_server, "get", "nodes", "-o", "json")
    assert res.returncode == 1
    lines = res.stderr.splitlines()
    assert re.fullmatch(
        r"E\d{4} [\d:.]+ +\d+ request\.go:\d+\] Unexpected error when reading response body: unexpected EOF", lines[0]
    )
    assert lines[1:] == [
        "error: unexpected error when reading response body. Please retry. Original error: unexpected EOF"
    ]


def test_server_down_refuses(api_server: ApiServer) -> None:
    port = api_server.port
    api_server.down()
    res = kubectl(api_server, "version", "-o", "json", "--request-timeout=3s")
    assert res.returncode == 1
    assert res.stderr == (
        f"The connection to the server 127.0.0.1:{port} was refused - did you specify the right host or port?\n"
    )
    assert "serverVersion" not in res.json() and res.json()["clientVersion"]["gitVersion"]
    api_server.up()
    assert kubectl(api_server, "get", "--raw", "/readyz").stdout == "ok"


def test_unparseable_kubeconfig(api_server: ApiServer) -> None:
    broken = api_server.workdir / "broken-kubeconfig"
    broken.write_text("apiVersion: v1\nclusters: [\n")
    res = kubectl(api_server, "get", "nodes", "-o", "json", kubeconfig=broken)
    assert res.returncode == 1
    assert (
        res.stderr == f'error: error loading config file "{broken}": yaml: line 2: did not find expected node content\n'
    )
    assert not api_server.requests


def test_unknown_context(api_server: ApiServer) -> None:
    res = kubectl(api_server, "--context", "other", "get", "nodes", "-o", "json")
    assert res.returncode == 1
    assert res.stderr == "Error in configuration: context was not found for specified context: other\n"
    assert not api_server.requests


def test_bad_token_is_unauthorized(api_server: ApiServer) -> None:
    kc = api_server.write_kubeconfig(api_server.workdir / "bad.kubeconfig", {"bad": {"auth": "token", "token": "x"}})
    denied = "error: You must be logged in to the server (the server has asked for the client to provide credentials)"
    version = kubectl(api_server, "version", "-o", "json", kubeconfig=kc)
    assert (version.returncode, version.stderr) == (1, denied + "\n")
    res = kubectl(api_server, "get", "nodes", "-o", "json", kubeconfig=kc)
    assert res.returncode == 1
    *retries, last = res.stderr.splitlines()
    assert last == denied
    # Discovery is tried five times first; 1.30 logs plain klog lines, 1.32 structured ones ("Unhandled Error").
    assert len(retries) == 5
    for line in retries:
        assert re.fullmatch(
            r"E\d{4} [\d:.]+ +\d+ memcache\.go:\d+\] (\"Unhandled Error\" err=\")?couldn't get current server API "
            r"group list: the server has asked for the client to provide credentials\"?",
            line,
        ), line
    raw = kubectl(api_server, "get", "--raw", "/readyz", kubeconfig=kc)
    assert raw.stderr == "error: You must be logged in to the server (Unauthorized)\n"
    assert {r.status for r in api_server.requests} == {401}


def test_current_context_and_extra_contexts(api_server: ApiServer) -> None:
    kc = api_server.write_kubeconfig(
        api_server.workdir / "two", {"minikube": {}, "kind-kdoctor": {}}, current="minikube"
    )
    assert kubectl(api_server, "config", "current-context", kubeconfig=kc).stdout == "minikube\n"
    res = kubectl(api_server, "--context", "kind-kdoctor", "get", "--raw", "/readyz", kubeconfig=kc)
    assert res.stdout == "ok"


@pytest.mark.real  # runs the real kubectl
def test_dispatcher_picks_the_client_by_server_version(tmp_path) -> None:
    """The Google Cloud SDK kubectl runs kubectl.1.NN for a 1.NN server; other builds have no dispatcher."""
    exe = apiserver.kubectl_path()
    client = subprocess.run([exe, "version", "--client", "-o", "json"], capture_output=True, text=True, timeout=30)
    if "-dispatcher" not in client.stdout:
        pytest.skip("this kubectl is not the Google Cloud SDK dispatcher")
    v132 = {**json.loads((apiserver.FIXTURES / "version.json").read_text()), "minor": "32", "gitVersion": "v1.32.0"}
    with running_api_server(tmp_path, version=v132) as server:
        res = kubectl(server, "version", "-o", "json")
        assert res.json()["clientVersion"]["gitVersion"].startswith("v1.32.")
        assert [r.param("timeout") for r in server.requests_to("/version")] == ["5s", "32s"]


def test_core_aggregated_discovery_is_built_as_the_recorded_documents_are() -> None:
    """/api's aggregated answer is generated from api__v1.json (the repository records no core one); the same
    generator turns the recorded legacy apps/v1 and batch/v1 lists into exactly the recorded aggregated items."""
    from tests.apiserver.server import DISCOVERY, legacy_to_aggregated

    recorded = json.loads((DISCOVERY / "aggregated_v2.json").read_text())
    for item in recorded["items"]:
        legacy = json.loads((DISCOVERY / f"apis__{item['metadata']['name']}__v1.json").read_text())
        assert legacy_to_aggregated(legacy) == item["versions"][0]
