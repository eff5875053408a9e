"""`kdoctor images` against a real registry server serving images assembled from real Go and C binaries."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kdoctor.cli import app
from kdoctor.images.inputs.uses import ImageUse
from kdoctor.images.registry.cache import Cache
from kdoctor.images.registry.client import RegistryClient
from kdoctor.images.scan import Scanner
from kdoctor.platforms import Platform
from tests.support.cli import run_kdoctor
from tests.support.registry_fixtures import Images

pytestmark = pytest.mark.registry
ARM64 = Platform.parse("linux/arm64")


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "kdoctor-cache"
    monkeypatch.setenv("KDOCTOR_CACHE_DIR", str(d))
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "no-docker-config"))
    return d


def scanner(emulator: str = "qemu", *, cache: Cache | None = None, suggest: bool = False) -> Scanner:
    client = RegistryClient(cache=cache or Cache(enabled=False), docker_config=None, timeout=5, retries=1)
    return Scanner(client, ARM64, emulator, suggest=suggest)


def one(images: Images, tag: str, emulator: str = "qemu", **use: object):  # type: ignore[no-untyped-def]
    s = scanner(emulator)
    try:
        return s.scan_one(ImageUse(images.ref(tag), **use))  # type: ignore[arg-type]
    finally:
        s.client.close()


@pytest.mark.parametrize(
    ("tag", "verdict", "go"),
    [
        ("multi", "native", None),
        ("multi-attest", "native", None),
        ("dockerlist", "native", None),
        ("arm64only", "native", None),
        ("amd64only", "crash", "go1.19.8"),
        ("docker-amd64", "crash", "go1.19.8"),
        ("zstd", "crash", "go1.19.8"),
        ("uncompressed", "crash", "go1.19.8"),
        ("go1254", "emulated", "go1.25.4"),
        ("go1250", "crash", "go1.25.0"),
        ("goamd64v3", "crash", "go1.19.8"),
        ("c", "emulated", None),
        ("arm32", "emulated", None),
        ("amd64only-index", "unsupported", "go1.19.8"),
        ("opaque", "emulated", None),
        ("symlink", "crash", "go1.19.8"),
        ("relsymlink", "crash", "go1.19.8"),
        ("hardlink", "crash", "go1.19.8"),
        ("tini", "crash", "go1.19.8"),
        ("pathlookup", "crash", "go1.19.8"),
        ("shell-exec", "crash", "go1.19.8"),
        ("shell-complex", "emulated", None),
        ("script", "emulated", None),
        # Issue 14: an entrypoint the image lacks (deleted by a whiteout, never there) or that loops cannot start
        # anywhere, so these three were relabelled from "emulated" (which says "it runs") to "unknown".
        ("whiteout", "unknown", None),
        ("missing", "unknown", None),
        ("symloop", "unknown", None),
        ("relative", "crash", "go1.19.8"),
    ],
)
def test_verdicts_under_qemu(images: Images, tag: str, verdict: str, go: str | None) -> None:
    r = one(images, tag)
    assert (r.verdict, r.entrypoint.go_version if r.entrypoint else None) == (verdict, go), r.reason
    assert r.digest == images.pushed[tag].digest


def test_index_platforms_exclude_attestations_and_merge_arm64_v8(images: Images) -> None:
    assert one(images, "multi-attest").platforms == ["linux/amd64", "linux/arm64"]
    assert one(images, "dockerlist").platforms == ["linux/amd64", "linux/arm64"]


def test_unsupported_index_says_the_pull_error_and_still_reads_the_amd64_entrypoint(images: Images) -> None:
    r = one(images, "amd64only-index")
    assert "no matching manifest for linux/arm64/v8 in the manifest list entries" in (r.pull_error or "")
    assert "ImagePullBackOff" in r.reason
    assert r.entrypoint and r.entrypoint.path == "/usr/local/bin/hello" and r.entrypoint.go_version == "go1.19.8"
    assert "--provenance=false" in (r.suggestion or "")


def test_go_crash_reason_names_the_message_and_the_go_version(images: Images) -> None:
    r = one(images, "amd64only")
    assert "fatal error: lfstack.push" in r.reason and "go1.19.8" in r.reason
    assert "taggedPointerPack" in one(images, "go1250").reason
    go = r.to_json()["go"]
    assert go["version"] == "go1.19.8" and go["path"] == "/usr/local/bin/hello"
    assert go["module"] == "example.com/kdoctor/hello"


def test_rosetta_and_no_emulator(images: Images) -> None:
    r = one(images, "amd64only", "rosetta")
    assert r.verdict == "emulated" and "Rosetta" in r.reason and "rare" in r.reason
    v3 = one(images, "goamd64v3", "rosetta")
    assert v3.verdict == "crash" and "v3 microarchitecture" in v3.reason
    assert one(images, "amd64only", "none").verdict == "unsupported"
    assert one(images, "multi", "none").verdict == "native"


def test_kubernetes_command_overrides_the_entrypoint(images: Images) -> None:
    assert one(images, "c").verdict == "emulated"
    assert one(images, "tini", command=["/usr/bin/c"]).verdict == "emulated"
    assert one(images, "tini", args=["/usr/local/bin/hello"]).verdict == "crash"


def test_compose_platform_override_judges_the_amd64_entry(images: Images) -> None:
    r = one(images, "multi", platform="linux/amd64")
    assert r.verdict == "crash" and r.entrypoint and r.entrypoint.go_version == "go1.19.8"


def test_early_stop_reads_only_the_top_layer(images: Images) -> None:
    s = scanner()
    s.scan_one(ImageUse(images.ref("toplayer")))
    assert s.walk.layers_opened == 1 and s.walk.bytes_decompressed < 4 << 20
    s2 = scanner()
    s2.scan_one(ImageUse(images.ref("bottomlayer")))
    assert s2.walk.layers_opened == 2 and s2.walk.bytes_decompressed > 8 << 20


def test_newer_tag_with_the_platform_is_suggested(images: Images) -> None:
    s = scanner(suggest=True)
    r = s.scan_one(ImageUse(images.ref("1.0.0", "kdoctor/app")))
    assert r.verdict == "crash"
    assert (r.suggestion or "").startswith(f"use {images.host}/kdoctor/app:1.2.0: it has linux/arm64; otherwise")


def test_missing_tag_and_unreachable_registry_are_unknown(images: Images) -> None:
    r = one(images, "no-such-tag")
    assert r.verdict == "unknown" and "404" in r.reason
    s = scanner()
    dead = s.scan_one(ImageUse("127.0.0.1:9/kdoctor/hello:x"))
    assert dead.verdict == "unknown" and "cannot reach" in dead.reason


def run_cli(*args: str, input: str | None = None) -> tuple[int, dict]:
    result = CliRunner().invoke(app, ["images", "--output", "json", "--platform", "linux/arm64", *args], input=input)
    return result.exit_code, json.loads(result.stdout)


def test_json_contract_and_exit_codes(images: Images, cache_dir: Path) -> None:
    code, doc = run_cli("--emulator", "qemu", images.ref("multi"), images.ref("c"))
    assert code == 0
    assert doc["schema"] == "kdoctor/images/v1" and doc["platform"] == "linux/arm64" and doc["emulator"] == "qemu"
    required = {"ref", "resolved", "digest", "platforms", "verdict", "go", "reason", "suggestion"}
    for img in doc["images"]:
        assert required <= set(img)
    code, doc = run_cli("--emulator", "qemu", images.ref("multi"), images.ref("amd64only"))
    assert code == 1
    code, doc = run_cli("--emulator", "qemu", images.ref("multi"), images.ref("no-such-tag"))
    assert code == 3 and {i["verdict"] for i in doc["images"]} == {"native", "unknown"}


def test_duplicates_are_resolved_once(images: Images, cache_dir: Path) -> None:
    _, doc = run_cli(
        "--emulator",
        "qemu",
        "--no-cache",
        "--no-suggest",
        images.ref("multi"),
        images.ref("multi"),
        images.ref("multi"),
    )
    assert len(doc["images"]) == 1
    assert doc["requests"] == {"GET manifest": 1}


def test_warm_cache_makes_only_head_requests(images: Images, cache_dir: Path) -> None:
    refs = [images.ref(t) for t in ("multi", "amd64only", "c", "amd64only-index", "arm64only")]
    code1, cold = run_cli("--emulator", "qemu", "--no-suggest", *refs)
    code2, warm = run_cli("--emulator", "qemu", "--no-suggest", *refs)
    assert code1 == code2 == 1
    assert [i["verdict"] for i in cold["images"]] == [i["verdict"] for i in warm["images"]]
    assert cold["requests"]["GET manifest"] >= len(refs)
    assert warm["requests"] == {"HEAD manifest": len(refs)}
    _, fresh = run_cli("--emulator", "qemu", "--no-suggest", "--max-age", "3600", *refs)
    assert fresh["requests"] == {}


def test_kubernetes_yaml_from_stdin_and_directories(images: Images, cache_dir: Path, tmp_path: Path) -> None:
    manifest = f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web}}
spec:
  template:
    spec:
      initContainers:
      - name: init
        image: {images.ref("c")}
      containers:
      - name: api
        image: {images.ref("tini")}
        command: ["/usr/bin/c"]
---
apiVersion: v1
kind: List
items:
- apiVersion: batch/v1
  kind: CronJob
  metadata: {{name: nightly}}
  spec:
    jobTemplate:
      spec:
        template:
          spec:
            containers:
            - name: job
              image: {images.ref("amd64only")}
"""
    _, doc = run_cli("--emulator", "qemu", "--no-suggest", "-f", "-", input=manifest)
    verdicts = {(i["ref"], i["verdict"]) for i in doc["images"]}
    assert verdicts == {
        (images.ref("c"), "emulated"),
        (images.ref("tini"), "emulated"),
        (images.ref("amd64only"), "crash"),
    }
    d = tmp_path / "k8s" / "nested"
    d.mkdir(parents=True)
    (d / "app.yaml").write_text(manifest)
    (tmp_path / "k8s" / "compose.yml").write_text(
        f"services:\n  web:\n    image: {images.ref('multi')}\n    platform: linux/amd64\n"
    )
    _, doc = run_cli("--emulator", "qemu", "--no-suggest", "-f", str(tmp_path / "k8s"))
    by_ref = {i["ref"]: i for i in doc["images"]}
    assert by_ref[images.ref("multi")]["verdict"] == "crash"  # compose platform: linux/amd64
    assert len(doc["images"]) == 4


def test_malformed_yaml_names_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: Pod\nspec:\n  containers: [\n")
    result = CliRunner().invoke(app, ["images", "-o", "json", "-f", str(bad)])
    doc = json.loads(result.stdout)  # a per-file error: exit 2, and the JSON says which file and line
    assert result.exit_code == 2 and doc["errors"][0]["file"] == str(bad) and doc["errors"][0]["line"]


def test_hundred_image_directory(images: Images, cache_dir: Path, tmp_path: Path) -> None:
    tags = [t for t in images.pushed if ":" not in t]
    d = tmp_path / "hundred"
    d.mkdir()
    for i in range(100):
        tag = tags[i % len(tags)]
        (d / f"pod{i:03}.yaml").write_text(
            f"apiVersion: v1\nkind: Pod\nmetadata: {{name: p{i}}}\nspec:\n  containers:\n"
            f"  - name: c\n    image: {images.ref(tag)}\n    args: ['{i}']\n"
        )
    _, doc = run_cli("--emulator", "qemu", "--no-suggest", "-f", str(d))
    # One row per image (issue 11): the 100 pods' uses are listed under the distinct images they use.
    assert len(doc["images"]) == len({tags[i % len(tags)] for i in range(100)})
    assert sum(len(i["uses"]) for i in doc["images"]) == doc["uses"] == 100
    # Since issue 14 an entrypoint the image lacks is `unknown` (whiteout, missing, symloop, and the images whose
    # CMD `args` replaces with a number); every other image must be judged.
    unknown = [r for r in doc["images"] if r["verdict"] == "unknown"]
    assert unknown and all("fails to start anywhere" in r["reason"] for r in unknown), unknown[:1]
    if os.environ.get("KDOCTOR_PRINT_TIMINGS"):
        print(doc["duration_ms"], doc["requests"])


def test_diagnose_judges_the_current_clusters_images(images: Images, machine, monkeypatch, cache_dir: Path) -> None:  # type: ignore[no-untyped-def]
    """diagnose's images category: workloads from the real kubectl (recorded API server), verdicts from the real
    registry."""
    from kdoctor.checks.run import run_checks
    from kdoctor.facts.gather import gather
    from kdoctor.runner import SubprocessRunner
    from tests import apiserver
    from tests.conftest import DATA, apple_silicon_env

    machine.install("sysctl", "sw_vers", "docker")
    apiserver.link_kubectl(machine.bin)
    apple_silicon_env(monkeypatch)
    monkeypatch.setenv("FAKE_DOCKER_INFO", str(DATA / "docker" / "info-colima-arm64.json"))
    machine.write(".colima/default/colima.yaml", (DATA / "colima" / "colima-vz-norosetta.yaml").read_text())
    pods = {
        "apiVersion": "v1",
        "kind": "List",
        "items": [
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": f"p{i}", "namespace": "default"},
                "spec": {"containers": [{"name": "c", "image": images.ref(tag)}]},
            }
            for i, tag in enumerate(("multi", "amd64only", "amd64only-index"))
        ],
    }
    from kdoctor.commands._common import cluster_images_phase

    with apiserver.running_api_server(machine.root / "cluster") as server:
        server.load(json.loads((DATA / "kube" / "nodes.json").read_text()), pods)
        monkeypatch.setenv("KUBECONFIG", str(server.kubeconfig))
        runner = SubprocessRunner()
        facts = gather(runner, system="Darwin", images_phase=cluster_images_phase(runner, 20))
        # diagnose --offline: the same verdicts from the cache the run above left, nothing sent (issue 24).
        offline = gather(runner, system="Darwin", images_phase=cluster_images_phase(runner, 20, offline=True))
    assert offline.images is not None
    assert {(i.ref, i.verdict) for i in offline.images.images} == {(i.ref, i.verdict) for i in facts.images.images}
    assert facts.images is not None and facts.images.platform == "linux/arm64" and facts.images.emulator == "qemu"
    report = run_checks(facts, only=["KD801"])
    got = {(f.subject, f.severity.value, f.data.get("verdict")) for f in report.findings}
    assert got == {(images.ref("amd64only"), "error", "crash"), (images.ref("amd64only-index"), "error", "unsupported")}
    # KD801 names the risk rule (checks/risks.yaml) that `kdoctor images` and `kdoctor why` name for this crash.
    crash = next(f for f in report.findings if f.data.get("verdict") == "crash")
    assert crash.data["risks"] == ["go-lfstack-push"]


def test_images_of_the_current_cluster_via_kubectl(images: Images, machine, monkeypatch, cache_dir: Path) -> None:  # type: ignore[no-untyped-def]
    """No refs and no files: the workloads of the current context, read with the real kubectl (-A) from the recorded
    API server."""

    from tests import apiserver
    from tests.conftest import DATA

    machine.install("docker")
    apiserver.link_kubectl(machine.bin)
    workloads = {
        "apiVersion": "v1",
        "kind": "List",
        "items": [
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "web", "namespace": "shop"},
                "spec": {"template": {"spec": {"containers": [{"name": "web", "image": images.ref("amd64only")}]}}},
            },
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": "web-1", "namespace": "shop"},
                "spec": {"containers": [{"name": "web", "image": images.ref("amd64only")}]},
            },
        ],
    }
    with apiserver.running_api_server(machine.root / "cluster") as server:
        server.load(json.loads((DATA / "kube" / "nodes.json").read_text()), workloads)
        monkeypatch.setenv("KUBECONFIG", str(server.kubeconfig))
        res = run_kdoctor("images", "-A", "-o", "json", "--emulator", "qemu", "--no-suggest", timeout=60)
    doc = json.loads(res.stdout)
    assert doc["platform"] == "linux/arm64"  # from the nodes, not this amd64 host
    assert [i["verdict"] for i in doc["images"]] == ["crash"]  # one image, used twice, resolved once
    assert len(doc["images"][0]["sources"]) == 2
    paths = {r.path for r in server.requests}
    assert {"/api/v1/pods", "/apis/apps/v1/deployments"} <= paths  # all namespaces: the cluster-wide lists


def test_images_of_a_cluster_whose_nodes_are_forbidden_say_what_they_assumed(
    images: Images, machine, monkeypatch, cache_dir: Path
) -> None:  # type: ignore[no-untyped-def]
    """Issue 25, class 6: `kdoctor images -A` where the node list is Forbidden (real kubectl, recorded API server).
    It cannot know the nodes' platform: it says so and which platform it assumed, and the run is incomplete (exit 3)
    even though every image was judged; with --platform nothing is assumed."""
    from tests import apiserver
    from tests.conftest import DATA

    machine.install("docker")
    apiserver.link_kubectl(machine.bin)
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web-1", "namespace": "shop"},
        "spec": {"containers": [{"name": "web", "image": images.ref("multi")}]},
    }
    with apiserver.running_api_server(machine.root / "cluster") as server:
        server.load(json.loads((DATA / "kube" / "nodes.json").read_text()), {"kind": "List", "items": [pod]})
        server.forbid("nodes", "list")
        monkeypatch.setenv("KUBECONFIG", str(server.kubeconfig))
        res = run_kdoctor("images", "-A", "-o", "json", "--emulator", "qemu", "--no-suggest", timeout=60)
        given = run_kdoctor("images", "-A", "-o", "json", "--emulator", "qemu", "--platform", "linux/arm64", timeout=60)
    doc = json.loads(res.stdout)
    assert res.returncode == 3, res.stderr
    assert doc["platform_assumed"] and "nodes could not be read" in doc["platform_assumed"]
    assert "forbidden" in doc["platform_assumed"].lower() and doc["platform"] in doc["platform_assumed"]
    assert [i["verdict"] for i in doc["images"]] == ["native"]  # the image itself was still judged
    gdoc = json.loads(given.stdout)
    assert given.returncode == 0 and gdoc["platform_assumed"] is None, given.stderr
