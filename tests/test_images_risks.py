"""The risk catalogue end to end: images assembled from real binaries and real os-release files, pushed to the
real registry, judged by `kdoctor images` under QEMU, Rosetta and no emulator.

Programs: the C programs of tests/support/isa_programs.py (gcc); a baseline C program stands in for `dotnet`, `node`,
`bash` and `mongod` (kdoctor reads their names and ELF headers, never runs them). os-release files:
tests/data/os-release/ (sources in its README). Env values: the official images' Dockerfiles (cited in
checks/risks.yaml). Labels were written from the catalogue's evidence before the scans ran.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kdoctor.cli import app
from kdoctor.images.inputs.uses import ImageUse
from kdoctor.images.registry.cache import Cache
from kdoctor.images.registry.client import RegistryClient
from kdoctor.images.scan import ImageResult, Scanner
from kdoctor.platforms import Platform
from tests.conftest import TESTS
from tests.support.imagebuilder import Pushed, Pusher, Symlink
from tests.support.isa_programs import build
from tests.support.realparts import RegistryServer

pytestmark = pytest.mark.registry
ARM64 = Platform.parse("linux/arm64")
REPO = "kdoctor/risks"
OSR = TESTS / "data" / "os-release"
APP = "/usr/local/bin/app"


def el_base(p: Pusher, os_release: str) -> list:  # type: ignore[type-arg]
    """An EL-shaped base (merged /usr, /etc/os-release -> ../usr/lib/os-release as EL 9/10 ship it) and a
    middle layer, so the os-release read walks below the entrypoint's layer."""
    base = p.layer(
        {
            "/bin": Symlink("usr/bin"),
            "/lib64": Symlink("usr/lib64"),
            "/usr/lib64/libc.so.6": b"stand-in",
            "/usr/lib/os-release": (OSR / os_release).read_bytes(),
            "/etc/os-release": Symlink("../usr/lib/os-release"),
        }
    )
    return [base, p.layer({"/var/lib/app/data": b"x" * 1024})]


@pytest.fixture(scope="session")
def risk_images(registry: RegistryServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Pushed]:
    progs = {k: v.read_bytes() for k, v in build(tmp_path_factory.mktemp("isa-risks")).items()}
    c, p, out = progs["baseline"], Pusher(registry.host), {}

    def image(tag: str, layers: list, **kw: object) -> None:  # type: ignore[type-arg]
        out[tag] = p.image(REPO, tag, arch="amd64", layers=layers, **kw)  # type: ignore[arg-type]

    app_layer = p.layer({APP: c})
    image("el9", [*el_base(p, "rocky-9.6"), app_layer], entrypoint=[APP])
    image("el9-centos", [*el_base(p, "centos-stream9-image-excerpt"), app_layer], entrypoint=[APP])
    image("el10", [*el_base(p, "almalinux-10.0"), app_layer], entrypoint=[APP])
    image("el8", [*el_base(p, "rhel-8.0"), app_layer], entrypoint=[APP])
    image("isa-v3", [p.layer({APP: progs["note-v3"]})], entrypoint=[APP])
    image("isa-v4", [p.layer({APP: progs["note-v4"]})], entrypoint=[APP])
    dotnet = p.layer({"/usr/share/dotnet/dotnet": c, "/usr/bin/dotnet": Symlink("../share/dotnet/dotnet")})
    image(
        "dotnet",
        [dotnet, p.layer({"/app/api.dll": b"MZ stand-in"})],
        entrypoint=["dotnet", "api.dll"],
        workdir="/app",
        env=["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "DOTNET_VERSION=8.0.30"],
    )
    shell = p.layer({"/bin/sh": c, "/bin/bash": c})
    image(
        "mongo",
        [shell, p.layer({"/usr/bin/mongod": c, "/usr/local/bin/docker-entrypoint.sh": b"#!/bin/bash\nexec $@\n"})],
        entrypoint=["docker-entrypoint.sh"],
        cmd=["mongod"],
        env=["MONGO_MAJOR=8.0", "MONGO_VERSION=8.0.26"],
    )
    image(
        "mongo44",
        [shell, p.layer({"/usr/bin/mongod": c})],
        entrypoint=["mongod"],
        env=["MONGO_MAJOR=4.4", "MONGO_VERSION=4.4.29"],
    )
    node_layer = p.layer({"/usr/local/bin/node": c, "/usr/local/bin/docker-entrypoint.sh": b"#!/bin/sh\nexec $@\n"})
    image(
        "node",
        [shell, node_layer],
        entrypoint=["docker-entrypoint.sh"],
        cmd=["node"],
        env=["NODE_VERSION=22.23.2", "YARN_VERSION=1.22.22"],
    )
    image("node-direct", [shell, node_layer], entrypoint=["node", "server.js"])
    image("absent-interp", [p.layer({"/start.sh": b"#!/opt/missing/python3\nprint(1)\n"})], entrypoint=["/start.sh"])
    image("loop-dir", [p.layer({"/opt/a": Symlink("b"), "/opt/b": Symlink("a")})], entrypoint=["/opt/a/app"])
    return out


def scan(registry: RegistryServer, tag: str, emulator: str) -> tuple[ImageResult, Scanner]:
    s = Scanner(RegistryClient(cache=Cache(enabled=False), docker_config=None, timeout=5, retries=1), ARM64, emulator)
    s.suggest = False
    try:
        return s.scan_one(ImageUse(f"{registry.host}/{REPO}:{tag}")), s
    finally:
        s.client.close()


EMULATED_V2 = ("emulated", ["glibc-x86-64-v2"])
NO_RISK = ("emulated", [])
UNSUPPORTED = ("unsupported", [])


@pytest.mark.parametrize(
    ("tag", "qemu", "rosetta", "none"),
    [
        ("el9", EMULATED_V2, NO_RISK, UNSUPPORTED),
        ("el9-centos", EMULATED_V2, NO_RISK, UNSUPPORTED),
        ("el10", ("emulated", ["glibc-x86-64-v3"]), ("crash", ["glibc-x86-64-v3"]), UNSUPPORTED),
        ("el8", NO_RISK, NO_RISK, UNSUPPORTED),
        ("isa-v3", ("emulated", ["glibc-isa-level-needed"]), ("crash", ["glibc-isa-level-needed"]), UNSUPPORTED),
        ("isa-v4", ("emulated", ["glibc-isa-level-needed"]), ("crash", ["glibc-isa-level-needed"]), UNSUPPORTED),
        ("dotnet", ("emulated", ["dotnet-qemu-unsupported"]), NO_RISK, UNSUPPORTED),
        ("mongo", ("emulated", ["cpu-avx-mongodb"]), ("crash", ["cpu-avx-mongodb"]), UNSUPPORTED),
        ("mongo44", NO_RISK, NO_RISK, UNSUPPORTED),
        ("node", ("emulated", ["v8-coderange"]), NO_RISK, UNSUPPORTED),
        ("node-direct", NO_RISK, NO_RISK, UNSUPPORTED),  # `node` without NODE_VERSION: its version is unknown
        ("absent-interp", ("unknown", []), ("unknown", []), UNSUPPORTED),
        ("loop-dir", ("unknown", []), ("unknown", []), UNSUPPORTED),
    ],
)
def test_rule_verdicts_per_emulator(
    registry: RegistryServer,
    risk_images: dict[str, Pushed],
    tag: str,
    qemu: tuple[str, list[str]],
    rosetta: tuple[str, list[str]],
    none: tuple[str, list[str]],
) -> None:
    for emulator, expected in (("qemu", qemu), ("rosetta", rosetta), ("none", none)):
        r, _ = scan(registry, tag, emulator)
        assert (r.verdict, [x.rule.id for x in r.risks]) == expected, f"{emulator}: {r.reason}"


def test_os_release_is_read_through_the_symlink_below_the_entrypoints_layer(
    registry: RegistryServer, risk_images: dict[str, Pushed]
) -> None:
    r, s = scan(registry, "el10", "rosetta")
    assert r.entrypoint and r.entrypoint.os_release_path == "/usr/lib/os-release"
    assert "Fatal glibc error: CPU does not support x86-64-v3" in r.reason
    # Three layers; the entrypoint's layer stopped early at the program, so it is read once more for os-release.
    assert s.walk.layers_opened == 4, s.walk


def test_os_release_past_the_fetch_limit_is_not_read_and_the_reason_says_so(
    registry: RegistryServer, risk_images: dict[str, Pushed], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("kdoctor.images.inspect.analyse.OS_RELEASE_MAX_FETCH", 100)
    r, s = scan(registry, "el10", "rosetta")
    assert r.verdict == "emulated" and "os-release was not read: it would fetch" in r.reason
    assert s.walk.layers_opened == 1


def test_a_certain_crash_does_not_read_os_release(registry: RegistryServer, risk_images: dict[str, Pushed]) -> None:
    r, s = scan(registry, "isa-v3", "rosetta")
    assert r.verdict == "crash" and r.entrypoint and r.entrypoint.os_release_note is None
    assert s.walk.layers_opened == 1


def test_absent_and_looping_entrypoints_say_why(registry: RegistryServer, risk_images: dict[str, Pushed]) -> None:
    r, _ = scan(registry, "absent-interp", "qemu")
    assert "not in the image" in r.reason and "/opt/missing/python3" in r.reason
    loop, _ = scan(registry, "loop-dir", "qemu")
    assert "symlink loop" in loop.reason and "too many levels of symbolic links" in loop.reason


def test_json_lists_risks_additively(
    registry: RegistryServer, risk_images: dict[str, Pushed], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KDOCTOR_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "no-docker-config"))
    ref = f"{registry.host}/{REPO}:mongo"
    res = CliRunner().invoke(
        app, ["images", "--platform", "linux/arm64", "--emulator", "rosetta", "--no-suggest", "-o", "json", ref]
    )
    doc = json.loads(res.stdout)
    (img,) = doc["images"]
    assert img["verdict"] == "crash"
    (risk,) = img["risks"]
    assert risk["id"] == "cpu-avx-mongodb" and risk["severity"] == "error" and risk["effect"] == "crash"
    assert (
        risk["evidence"] == "MONGO_VERSION=8.0.26" and "https://github.com/mongodb/docs/issues/5657" in risk["source"]
    )
    assert img["entrypoint"]["runtime"] is None and img["suggestion"].startswith("Use the arm64 variant")
