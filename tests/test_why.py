"""`kdoctor why`: every signature from a real log, and failing pods read by the real kubectl from the recorded API
server (tests/apiserver) with images from the real registry."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from kdoctor.why.signatures import catalogue, match_text
from tests import apiserver
from tests.apiserver import ApiServer, running_api_server
from tests.conftest import DATA, FakeMachine
from tests.support.cli import run_kdoctor
from tests.support.registry_fixtures import Images

FIXTURES = yaml.safe_load((DATA / "why" / "logs.yaml").read_text())


def why(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> tuple[int, dict, str]:
    return run_kdoctor("why", "-o", "json", *args, input=input, env=env).triple()


def test_fixtures_name_known_signatures() -> None:
    """Every fixture names a signature that exists (tests/test_why_corpus.py checks that every signature has a
    real log, here or in the labelled corpus)."""
    assert {f["signature"] for f in FIXTURES} <= {s.id for s in catalogue()}
    assert all(f["source"] for f in FIXTURES)


@pytest.mark.parametrize("fixture", FIXTURES, ids=[f["signature"] for f in FIXTURES])
def test_signature_matches_its_log(fixture: dict[str, str]) -> None:
    found = [m.signature.id for m in match_text(fixture["log"], "log")]
    assert found[0] == fixture["signature"], found
    coloured = "".join(f"\x1b[31m{line}\x1b[0m\n" for line in fixture["log"].splitlines())
    assert fixture["signature"] in [m.signature.id for m in match_text(coloured, "log")]


def test_why_log_from_stdin_and_file(tmp_path: Path) -> None:
    lf = next(f for f in FIXTURES if f["signature"] == "go-lfstack-push")
    code, doc, _ = why("--log", "-", input=lf["log"])
    assert code == 0 and doc["explained"] and doc["log"][0]["id"] == "go-lfstack-push"
    assert "1.25.4" in " ".join(doc["log"][0]["fixes"])
    p = tmp_path / "ci.log"
    p.write_text("everything is fine\nreally\n")
    code, doc, _ = why("--log", str(p))
    assert code == 1 and doc["explained"] is False and doc["log"] == []
    res = run_kdoctor("why", "--log", str(p))
    assert "No known failure signature" in res.stdout


def pod_doc(name: str, containers: list[dict[str, Any]], statuses: list[dict[str, Any]], node: str = "dev") -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"nodeName": node, "containers": containers},
        "status": {"phase": "Running", "containerStatuses": statuses},
    }


def crashloop(name: str, restarts: int = 5, code: int = 2) -> dict[str, Any]:
    return {
        "name": name,
        "ready": False,
        "restartCount": restarts,
        "state": {
            "waiting": {"reason": "CrashLoopBackOff", "message": f"back-off 2m40s restarting failed container={name}"}
        },
        "lastState": {"terminated": {"reason": "Error", "exitCode": code}},
    }


def running(name: str) -> dict[str, Any]:
    return {"name": name, "ready": True, "restartCount": 0, "state": {"running": {"startedAt": "2026-11-20T09:00:00Z"}}}


@pytest.fixture
def cluster(
    machine: FakeMachine, monkeypatch: pytest.MonkeyPatch, images: Images, tmp_path: Path
) -> Iterator[ApiServer]:
    """The real kubectl against the recorded API server (tests/apiserver), holding the node `dev`."""
    apiserver.link_kubectl(machine.bin)
    machine.install("docker")
    with running_api_server(tmp_path / "cluster") as server:
        server.load(json.loads((DATA / "kube" / "nodes.json").read_text()))
        monkeypatch.setenv("KUBECONFIG", str(server.kubeconfig))
        monkeypatch.setenv("HOME", str(server.home))  # kubectl's discovery cache
        monkeypatch.setenv("KDOCTOR_CACHE_DIR", str(tmp_path / "cache"))
        monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker"))
        yield server


def put(server: ApiServer, pod: dict, events: list[str] | None = None, logs: dict[str, str] | None = None) -> None:
    """The pod, its events ("Reason: message") and its logs ({"container.previous" | "container.current": text})."""
    name = pod["metadata"]["name"]
    server.load(pod)
    for i, e in enumerate(events or []):
        reason, message = (part.strip() for part in e.split(":", 1))
        server.load(
            {
                "apiVersion": "v1",
                "kind": "Event",
                "metadata": {"name": f"{name}.{i}", "namespace": "default"},
                "involvedObject": {"kind": "Pod", "name": name, "namespace": "default"},
                "reason": reason,
                "message": message,
                "type": "Warning",
            }
        )
    for key, text in (logs or {}).items():
        container, which = key.rsplit(".", 1)
        server.set_log("default", name, container, text, previous=which == "previous")


LFSTACK = next(f for f in FIXTURES if f["signature"] == "go-lfstack-push")["log"]


def test_lfstack_pod_is_tied_to_its_go_image(cluster: ApiServer, images: Images) -> None:
    img = images.ref("amd64only")
    put(
        cluster,
        pod_doc("api", [{"name": "api", "image": img}], [crashloop("api")]),
        events=["BackOff: Back-off restarting failed container api in pod api_default"],
        logs={"api.previous": LFSTACK},
    )
    code, doc, err = why("api", "--emulator", "qemu")
    assert code == 0, err
    c = doc["containers"][0]
    assert doc["node_arch"] == "arm64" and c["failing"]
    assert c["signatures"][0]["id"] == "go-lfstack-push" and c["signatures"][0]["where"] == "logs (previous container)"
    assert c["image_verdict"]["verdict"] == "crash" and c["image_verdict"]["go"]["version"] == "go1.19.8"
    assert any("1.25.4" in f for f in c["fixes"])
    res = run_kdoctor("why", "api", "--emulator", "qemu", env={"NO_COLOR": "1"})
    out = res.stdout
    assert "What happened: waiting: CrashLoopBackOff after 5 restart(s); last exit code 2" in out
    assert "go-lfstack-push" in out and "built with go1.19.8" in out and "What to do:" in out


def test_image_pull_backoff_on_an_amd64_only_index(cluster: ApiServer, images: Images) -> None:
    img = images.ref("amd64only-index")
    status = {
        "name": "legacy",
        "ready": False,
        "restartCount": 0,
        "state": {"waiting": {"reason": "ImagePullBackOff", "message": f'Back-off pulling image "{img}"'}},
    }
    put(
        cluster,
        pod_doc("legacy", [{"name": "legacy", "image": img}], [status]),
        events=[
            f'Failed: Failed to pull image "{img}": '
            "no matching manifest for linux/arm64/v8 in the manifest list entries"
        ],
    )
    code, doc, _ = why("legacy", "--emulator", "qemu")
    c = doc["containers"][0]
    assert code == 0
    assert [s["id"] for s in c["signatures"]] == ["pull-no-matching-manifest"]
    assert c["image_verdict"]["verdict"] == "unsupported" and c["image_verdict"]["go"]["version"] == "go1.19.8"
    assert any("--provenance=false" in f for f in c["fixes"])


def test_only_the_failing_container_is_explained(cluster: ApiServer, images: Images) -> None:
    put(
        cluster,
        pod_doc(
            "web",
            [{"name": "web", "image": images.ref("multi")}, {"name": "sidecar", "image": images.ref("amd64only")}],
            [running("web"), crashloop("sidecar", 3)],
        ),
        logs={"sidecar.previous": LFSTACK},
    )
    code, doc, _ = why("web", "--emulator", "qemu")
    by_name = {c["name"]: c for c in doc["containers"]}
    assert code == 0
    assert not by_name["web"]["failing"] and by_name["web"]["signatures"] == []
    assert by_name["sidecar"]["signatures"][0]["id"] == "go-lfstack-push"


def test_nothing_recognisable_is_exit_1_and_says_what_was_checked(cluster: ApiServer, images: Images) -> None:
    put(
        cluster,
        pod_doc("odd", [{"name": "odd", "image": images.ref("multi")}], [crashloop("odd", 2, 1)]),
        logs={"odd.previous": "config error: missing DATABASE_URL\n"},
    )
    code, doc, _ = why("odd", "--emulator", "qemu")
    assert code == 1 and doc["explained"] is False
    res = run_kdoctor("why", "odd", "--emulator", "qemu", env={"NO_COLOR": "1"})
    assert "No known signature matched" in res.stdout


def test_huge_and_truncated_logs(cluster: ApiServer, images: Images) -> None:
    noise = "".join(f"2026-11-20T09:00:00Z request {i} ok\n" for i in range(200_000))  # ~7 MB
    put(
        cluster,
        pod_doc("big", [{"name": "big", "image": images.ref("amd64only")}], [crashloop("big")]),
        logs={"big.previous": noise + LFSTACK},
    )
    code, doc, _ = why("big", "--emulator", "qemu")
    assert code == 0 and doc["containers"][0]["signatures"][0]["id"] == "go-lfstack-push"
    cut = LFSTACK[: LFSTACK.index("fatal error") + len("fatal error: lfst")]  # cut mid-line, no final newline
    put(
        cluster,
        pod_doc("cut", [{"name": "cut", "image": images.ref("amd64only")}], [crashloop("cut")]),
        logs={"cut.previous": cut},
    )
    code, doc, _ = why("cut", "--emulator", "qemu")
    assert code == 0 and doc["containers"][0]["signatures"][0]["id"] == "go-lfstack-push"  # the packing line


def test_a_pod_that_no_longer_exists_is_exit_3(cluster: ApiServer) -> None:
    code, _, err = why("gone")
    assert code == 3 and "does not exist" in err
