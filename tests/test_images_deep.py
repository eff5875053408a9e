"""`kdoctor images --deep`: images whose manifest names the node's platform but whose entrypoint is a program for
another architecture, or a dynamic program whose loader the image lacks (issue 17). Real registry, real binaries
(Go cross-compiled by Debian's golang-go, gcc's amd64 C program)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from kdoctor.images.inputs.uses import ImageUse
from kdoctor.images.registry.cache import Cache
from kdoctor.images.registry.client import RegistryClient
from kdoctor.images.scan import ImageResult, Scanner
from kdoctor.platforms import Platform
from tests.support.imagebuilder import Pusher, Symlink
from tests.support.registry_fixtures import Images
from tests.test_faults import kdoctor_images
from tests.test_why import cluster, crashloop, pod_doc, put, why  # noqa: F401 (cluster: the fake-kubectl fixture)

pytestmark = pytest.mark.registry
ARM64 = Platform.parse("linux/arm64")
HELLO = "/usr/local/bin/hello"
AMD64_LOADER = "/lib64/ld-linux-x86-64.so.2"
ARM64_LOADER = "/lib/ld-linux-aarch64.so.1"
STANDIN = b"\x7fELF stand-in for a loader (kdoctor only checks that the file exists)\n"


@pytest.fixture(scope="module")
def deep_images(images: Images) -> dict[str, str]:
    """Tag -> reference. The manifests all claim linux/arm64; what is inside differs."""
    p = Pusher(images.host)
    b = images.bins
    repo = "kdoctor/deep"
    refs: dict[str, str] = {}

    def arm64_image(tag: str | None, files: dict, *, index: bool = False):  # type: ignore[no-untyped-def]
        pushed = p.image(
            repo, None if index else tag, arch="arm64", variant="v8", layers=[p.layer(files)], entrypoint=[HELLO]
        )
        if index:
            amd = p.image(repo, None, arch="amd64", layers=[p.layer({HELLO: b["go-amd64"]})], entrypoint=[HELLO])
            p.index(repo, str(tag), [amd, pushed])
        refs[str(tag)] = f"{images.host}/{repo}:{tag}"
        return pushed

    # An index whose arm64 entry carries the amd64 Go 1.19 binary (a release download that ignored TARGETARCH).
    arm64_image("go-mislabeled", {HELLO: b["go-amd64"]}, index=True)
    # A single arm64 manifest whose entrypoint is gcc's dynamic amd64 C program, with and without its loader.
    arm64_image("c-mislabeled", {HELLO: b["c-amd64"], AMD64_LOADER: STANDIN})
    arm64_image("c-mislabeled-noloader", {HELLO: b["c-amd64"]})
    # Correct images: a static arm64 Go binary; a dynamic (PIE) arm64 Go binary with its loader behind a symlink.
    arm64_image("arm64-good", {HELLO: b["go-arm64"]}, index=True)
    arm64_image(
        "arm64-pie",
        {
            HELLO: b["go-arm64-pie"],
            ARM64_LOADER: Symlink("aarch64-linux-gnu/ld-linux-aarch64.so.1"),
            "/lib/aarch64-linux-gnu/ld-linux-aarch64.so.1": STANDIN,
        },
    )
    # The same dynamic arm64 binary in an image without the loader (a scratch image for a non-static build).
    arm64_image("arm64-pie-noloader", {HELLO: b["go-arm64-pie"]})
    return refs


def scan(ref: str, emulator: str, *, deep: bool = True) -> ImageResult:
    client = RegistryClient(cache=Cache(enabled=False), docker_config=None, timeout=5, retries=1)
    try:
        return Scanner(client, ARM64, emulator, suggest=False, deep=deep).scan_one(ImageUse(ref))
    finally:
        client.close()


@pytest.mark.parametrize(
    ("tag", "emulator", "verdict", "words"),
    [
        ("go-mislabeled", "qemu", "crash", ["manifest says linux/arm64", "program inside is amd64", "lfstack.push"]),
        ("go-mislabeled", "rosetta", "emulated", ["program inside is amd64", "under Rosetta"]),
        ("go-mislabeled", "none", "unsupported", ["program inside is amd64", "exec format error"]),
        ("c-mislabeled", "none", "unsupported", ["program inside is amd64", "exec format error"]),
        ("c-mislabeled", "qemu", "emulated", ["program inside is amd64", "not a Go program"]),
        ("c-mislabeled-noloader", "rosetta", "crash", ["rosetta error: failed to open elf at /lib64/ld-linux-x86-64"]),
        ("c-mislabeled-noloader", "qemu", "crash", ["qemu-x86_64: Could not open '/lib64/ld-linux-x86-64.so.2'"]),
        ("arm64-good", "qemu", "native", ["is arm64 too (--deep)"]),
        ("arm64-pie", "qemu", "native", ["is arm64 too (--deep)"]),
        ("arm64-pie-noloader", "qemu", "unknown", ["loader /lib/ld-linux-aarch64.so.1", "no such file or directory"]),
    ],
)
def test_deep_verdicts(deep_images: dict[str, str], tag: str, emulator: str, verdict: str, words: list[str]) -> None:
    r = scan(deep_images[tag], emulator)
    assert r.verdict == verdict, r.reason
    for w in words:
        assert w in r.reason, r.reason
    if verdict not in ("native", "unknown"):
        assert r.suggestion and "TARGETARCH" in r.suggestion


@pytest.mark.parametrize("tag", ["go-mislabeled", "c-mislabeled", "arm64-pie-noloader"])
def test_without_deep_the_manifest_is_believed(deep_images: dict[str, str], tag: str) -> None:
    r = scan(deep_images[tag], "qemu", deep=False)
    assert r.verdict == "native" and r.entrypoint is None


def test_deep_entrypoint_facts_in_json(deep_images: dict[str, str], tmp_path: Path) -> None:
    refs = (deep_images["c-mislabeled-noloader"], deep_images["arm64-good"])
    res = kdoctor_images(tmp_path, "--deep", "-o", "json", *refs, timeout=120)
    doc = json.loads(res.stdout)
    assert doc["deep"] is True and res.returncode == 1  # a crash was found
    by_ref = {i["ref"]: i for i in doc["images"]}
    bad = by_ref[deep_images["c-mislabeled-noloader"]]
    assert bad["verdict"] == "crash"
    assert bad["entrypoint"]["machine"] == "amd64"
    assert bad["entrypoint"]["interpreter"] == "/lib64/ld-linux-x86-64.so.2"
    assert bad["entrypoint"]["interpreter_found"] is False
    good = by_ref[deep_images["arm64-good"]]
    assert good["verdict"] == "native" and good["entrypoint"]["machine"] == "arm64"
    assert good["entrypoint"]["interpreter"] is None  # a static Go binary needs no loader
    # The second run answers from the cache: the same verdicts.
    again = json.loads(kdoctor_images(tmp_path, "--deep", "-o", "json", *refs, timeout=120).stdout)
    assert [i["verdict"] for i in again["images"]] == [i["verdict"] for i in doc["images"]]


@pytest.mark.parametrize(("tag", "emulator"), [("go-mislabeled", "qemu"), ("c-mislabeled-noloader", "rosetta")])
def test_warm_deep_reads_neither_the_manifest_nor_its_config_again(
    deep_images: dict[str, str], tmp_path: Path, tag: str, emulator: str
) -> None:
    """The analysis is noted under the image manifest's digest: a warm --deep run answers from the tag note,
    the blob the tag points at (an index; a single manifest and its config, which say its platform) and the
    analyses notes. With every other blob gone from the cache it sends one HEAD and nothing else (no layer
    either), and says the same."""

    def scan_cached() -> tuple[ImageResult, dict[str, int]]:
        client = RegistryClient(cache=Cache(tmp_path), docker_config=None, timeout=5, retries=1)
        try:
            r = Scanner(client, ARM64, emulator, suggest=False, deep=True).scan_one(ImageUse(deep_images[tag]))
            client.cache.flush()
            return r, dict(client.stats.requests)
        finally:
            client.close()

    cold, _ = scan_cached()
    assert cold.verdict == "crash" and cold.entrypoint is not None and cold.entrypoint.machine == "amd64"
    blobs = tmp_path / "blobs" / "sha256"
    keep = {cold.digest.removeprefix("sha256:")}
    if cold.kind == "manifest":
        keep.add(json.loads((blobs / keep.copy().pop()).read_bytes())["config"]["digest"].removeprefix("sha256:"))
    gone = [blob.name for blob in blobs.iterdir() if blob.name not in keep]
    for name in gone:
        (blobs / name).unlink()
    if cold.kind == "index":  # set-up check: the arm64 manifest and its config are really gone from the cache
        assert len(gone) >= 2, gone
    warm, requests = scan_cached()
    assert requests == {"HEAD manifest": 1}
    assert (warm.verdict, warm.reason, warm.entrypoint) == (cold.verdict, cold.reason, cold.entrypoint)


# `kdoctor why` looks inside a failing container's image (deep) and names the same cause as `images --deep`.

QEMU_NO_LOADER = "qemu-x86_64: Could not open '/lib64/ld-linux-x86-64.so.2': No such file or directory\n"


def test_why_ties_the_loader_error_to_the_foreign_binary_inside(
    cluster: Path,  # noqa: F811 (the fixture imported above)
    deep_images: dict[str, str],
) -> None:
    img = deep_images["c-mislabeled-noloader"]
    put(
        cluster,
        pod_doc("web", [{"name": "web", "image": img}], [crashloop("web", code=255)]),
        logs={"web.previous": QEMU_NO_LOADER},  # the real line (thecodingmachine/docker-images-nodejs#19)
    )
    code, doc, err = why("web", "--emulator", "qemu")
    assert code == 0, err
    c = doc["containers"][0]
    assert c["explanation"] == "qemu-loader-missing"
    v = c["image_verdict"]
    assert v["verdict"] == "crash" and "program inside is amd64" in v["reason"]
    assert v["entrypoint"]["interpreter_found"] is False
    assert "TARGETARCH" in c["fixes"][0]  # the image's own fix first


def test_qemu_says_what_kdoctor_predicts_for_a_missing_loader(images: Images, tmp_path: Path) -> None:
    """The message in the crash verdict, measured: Debian's qemu-user-static runs gcc's amd64 C program in a
    root that has no amd64 loader (a chroot holding only QEMU and the program)."""
    import shutil

    from tests.conftest import require_real

    qemu = shutil.which("qemu-x86_64-static")
    if not qemu:
        require_real("qemu-x86_64-static is not installed (Debian package qemu-user-static)")
    if os.geteuid() != 0:
        require_real("chroot needs root")
    root = tmp_path / "root"
    root.mkdir()
    shutil.copy(str(qemu), root / "qemu")
    (root / "hello").write_bytes(images.bins["c-amd64"])
    (root / "hello").chmod(0o755)
    res = subprocess.run(["chroot", str(root), "/qemu", "/hello"], capture_output=True, text=True, timeout=30)
    assert res.returncode == 255
    assert "Could not open '/lib64/ld-linux-x86-64.so.2': No such file or directory" in res.stderr
