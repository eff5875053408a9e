"""Verdict files and --offline (issue 24), against the real test registry: one run's facts serve a teammate's run
(no manifest GET, only the HEADs that check the tags; none with --max-age), --offline opens no connection at all,
a moved tag is read again, a bad file or entry degrades only itself, and no credential is ever written."""

from __future__ import annotations

import base64
import json
import socket
import threading
from pathlib import Path
from typing import Any

from tests.support.cli import run_kdoctor
from tests.support.imagebuilder import Pusher
from tests.support.registry_fixtures import Images
from tests.test_reports import ARM64_QEMU, manifest

HELLO = "/usr/local/bin/hello"


def kd(tmp: Path, cache: str, *args: str, env: dict[str, str] | None = None) -> Any:
    ran = run_kdoctor("images", "-f", str(tmp / "app.yaml"), *ARM64_QEMU, "-o", "json", *args,
                      env={"KDOCTOR_CACHE_DIR": str(tmp / cache), **(env or {})})  # fmt: skip
    return ran.returncode, json.loads(ran.stdout)


def gets(doc: dict[str, Any]) -> int:
    return sum(n for k, n in doc["requests"].items() if k.startswith("GET"))


def test_a_teammate_reads_the_verdicts_instead_of_the_registry(images: Images, tmp_path: Path) -> None:
    refs = [images.ref("multi"), images.ref("amd64only"), images.ref("c")]
    (tmp_path / "app.yaml").write_text(manifest(refs))
    verdicts = tmp_path / "team-verdicts.json"
    code, first = kd(tmp_path, "alice", "--write-verdicts", str(verdicts), "--deep")
    assert gets(first) > 0 and verdicts.exists()
    code2, second = kd(tmp_path, "bob", "--verdicts", str(verdicts), "--deep")  # bob's cache is empty
    assert {i["ref"]: i["verdict"] for i in second["images"]} == {i["ref"]: i["verdict"] for i in first["images"]}
    assert code2 == code and gets(second) == 0, second["requests"]  # no manifest, config or layer GET
    assert all(k.startswith("HEAD") for k in second["requests"])  # only the tags are checked
    assert {i["source"] for i in second["images"]} == {str(verdicts)}
    _, third = kd(tmp_path, "carol", "--verdicts", str(verdicts), "--max-age", "3600", "--deep")
    assert third["requests"] == {}  # within --max-age the verdicts' tags are trusted: nothing is sent


def test_offline_sends_nothing_and_says_what_it_could_not_answer(images: Images, tmp_path: Path) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.2)
    accepted: list[int] = []

    def count() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            accepted.append(1)
            conn.close()

    threading.Thread(target=count, daemon=True).start()
    try:
        watched = f"127.0.0.1:{listener.getsockname()[1]}/team/app:1"  # a registry that counts connections
        (tmp_path / "app.yaml").write_text(manifest([images.ref("multi"), watched]))
        verdicts = tmp_path / "v.json"
        (tmp_path / "known.yaml").write_text(manifest([images.ref("multi")]))
        run_kdoctor("images", "-f", str(tmp_path / "known.yaml"), *ARM64_QEMU, "--write-verdicts", str(verdicts),
                    env={"KDOCTOR_CACHE_DIR": str(tmp_path / "w")})  # fmt: skip
        code, doc = kd(tmp_path, "empty", "--offline", "--verdicts", str(verdicts))
    finally:
        listener.close()
    by_ref = {i["ref"]: i for i in doc["images"]}
    assert by_ref[images.ref("multi")]["verdict"] == "native"  # from the verdict file
    assert by_ref[watched]["verdict"] == "unknown"
    assert by_ref[watched]["reason"] == "offline: not in the cache or the verdict files"
    assert accepted == [] and doc["requests"] == {} and code == 3


def test_a_moved_tag_is_read_again(images: Images, tmp_path: Path) -> None:
    p = Pusher(images.host)
    repo = "team/moving"
    p.image(repo, "v1", arch="amd64", layers=[p.layer({HELLO: images.bins["c-amd64"]})], entrypoint=[HELLO])
    (tmp_path / "app.yaml").write_text(manifest([f"{images.host}/{repo}:v1"]))
    verdicts = tmp_path / "v.json"
    _, first = kd(tmp_path, "a", "--write-verdicts", str(verdicts))
    assert first["images"][0]["verdict"] == "emulated"
    arm = p.image(repo, None, arch="arm64", layers=[p.layer({HELLO: images.bins["go-arm64"]})], entrypoint=[HELLO])
    amd = p.image(repo, None, arch="amd64", layers=[p.layer({HELLO: images.bins["c-amd64"]})], entrypoint=[HELLO])
    p.index(repo, "v1", [amd, arm])  # the tag moves to a multi-arch index
    _, second = kd(tmp_path, "b", "--verdicts", str(verdicts))
    assert second["images"][0]["verdict"] == "native" and second["images"][0]["source"] is None
    assert second["images"][0]["digest"] != first["images"][0]["digest"]


def test_a_bad_verdict_file_or_entry_degrades_only_itself(images: Images, tmp_path: Path) -> None:
    (tmp_path / "app.yaml").write_text(manifest([images.ref("multi")]))
    good = tmp_path / "good.json"
    kd(tmp_path, "a", "--write-verdicts", str(good))
    doc = json.loads(good.read_text())
    digest = next(iter(doc["blobs"]))
    doc["blobs"][digest] = base64.b64encode(b"not what the digest says").decode()  # a forged entry
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(doc))
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    _code, out = kd(tmp_path, "b", "--verdicts", str(forged), "--verdicts", str(broken))
    assert out["images"][0]["verdict"] == "native"  # answered by the registry, not by the forged bytes
    errors = out["verdict_sources"]["errors"]
    assert any("do not match the digest" in e for e in errors) and any("broken.json" in e for e in errors)


def test_no_credential_is_written(images: Images, tmp_path: Path) -> None:
    canary = "kdoctor-canary-" + "7f3a9c"
    config = tmp_path / "docker"
    config.mkdir()
    auth = base64.b64encode(f"user:{canary}".encode()).decode()
    (config / "config.json").write_text(json.dumps({"auths": {images.host: {"auth": auth}}}))
    (tmp_path / "app.yaml").write_text(manifest([images.ref("amd64only")]))
    out = tmp_path / "v.json"
    kd(tmp_path, "a", "--write-verdicts", str(out), "--deep", env={"DOCKER_CONFIG": str(config)})
    text = out.read_text()
    assert canary not in text and auth not in text and "Authorization" not in text


def test_the_verdicts_travel_through_the_teams_registry(images: Images, tmp_path: Path) -> None:
    """Pushed as an OCI artifact to the real registry, read back by an independent client (skopeo), and used by
    a teammate's run as `--verdicts oci://…`."""
    import shutil
    import subprocess

    from tests.conftest import require_real

    if shutil.which("skopeo") is None:
        require_real("skopeo (Debian package skopeo), the independent OCI client")
    refs = [images.ref("multi"), images.ref("amd64only"), images.ref("c")]
    (tmp_path / "app.yaml").write_text(manifest(refs))
    artifact = f"{images.host}/team/kdoctor-verdicts:latest"
    _, first = kd(tmp_path, "alice", "--write-verdicts", f"oci://{artifact}", "--deep")
    raw = subprocess.run(["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{artifact}"],
                         capture_output=True, text=True, timeout=60, check=True)  # fmt: skip
    m = json.loads(raw.stdout)
    assert m["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
    assert m["artifactType"] == "application/vnd.kdoctor.verdicts.v1+json"
    assert m["config"]["mediaType"] == "application/vnd.oci.empty.v1+json" and len(m["layers"]) == 1
    assert m["annotations"]["dev.kdoctor.version"] and m["annotations"]["org.opencontainers.image.created"]
    layout = tmp_path / "layout"
    subprocess.run(["skopeo", "copy", "--src-tls-verify=false", f"docker://{artifact}", f"oci:{layout}:v"],
                   capture_output=True, text=True, timeout=60, check=True)  # fmt: skip
    digest = m["layers"][0]["digest"].split(":")[1]
    doc = json.loads((layout / "blobs" / "sha256" / digest).read_text())
    assert doc["schema"] == "kdoctor/verdicts/v1" and {v["ref"] for v in doc["verdicts"]} == set(refs)
    _, second = kd(tmp_path, "bob", "--verdicts", f"oci://{artifact}", "--deep")
    assert gets(second) == 0 and {i["source"] for i in second["images"]} == {f"oci://{artifact}"}
    assert {i["ref"]: i["verdict"] for i in second["images"]} == {i["ref"]: i["verdict"] for i in first["images"]}
