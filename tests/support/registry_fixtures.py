"""Session fixtures for the images tests: a real registry, real binaries, and a catalogue of images."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.imagebuilder import Dir, Hardlink, Opaque, Pushed, Pusher, Symlink, Whiteout
from tests.support.realparts import RegistryServer, build_binaries, start_registry, with_go_version

BUSYBOX_STANDIN = b"#!/bin/false\n"  # a stand-in file for tini etc. (never executed by kdoctor)


@dataclass
class Images:
    host: str
    bins: dict[str, bytes]
    pushed: dict[str, Pushed]

    def ref(self, tag: str, repo: str = "kdoctor/hello") -> str:
        return f"{self.host}/{repo}:{tag}"


@pytest.fixture(scope="session")
def binaries(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    bins = build_binaries(tmp_path_factory.mktemp("bins"))
    bins["go-amd64-1.25.4"] = with_go_version(bins["go-amd64"], "go1.19.8", "go1.25.4")
    bins["go-amd64-1.25.0"] = with_go_version(bins["go-amd64"], "go1.19.8", "go1.25.0")
    return bins


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    server = start_registry(tmp_path_factory.mktemp("registry"))
    yield server
    server.stop()


def push_catalogue(p: Pusher, b: dict[str, bytes]) -> dict[str, Pushed]:
    R = "kdoctor/hello"
    out: dict[str, Pushed] = {}
    go_amd, go_arm, c_amd = b["go-amd64"], b["go-arm64"], b["c-amd64"]
    hello = "/usr/local/bin/hello"

    def single(
        tag: str, binary: bytes, arch: str, *, style: str = "oci", compression: str = "gzip", path: str = hello, **kw
    ) -> Pushed:  # type: ignore[no-untyped-def]
        layer = p.layer({path: binary}, compression=compression, style=style)
        out[tag] = p.image(
            R, tag, arch=arch, layers=[layer], entrypoint=kw.pop("entrypoint", [path]), style=style, **kw
        )
        return out[tag]

    amd = single("amd64only", go_amd, "amd64")
    arm = p.image(R, None, arch="arm64", variant="v8", layers=[p.layer({hello: go_arm})], entrypoint=[hello])
    out["multi"] = p.index(R, "multi", [amd, arm])
    out["multi-attest"] = p.index(R, "multi-attest", [amd, arm], attest=[p.attestation(R, amd)])
    d_amd = p.image(
        R, None, arch="amd64", layers=[p.layer({hello: go_amd}, style="docker")], entrypoint=[hello], style="docker"
    )
    d_arm = p.image(
        R,
        None,
        arch="arm64",
        variant="v8",
        layers=[p.layer({hello: go_arm}, style="docker")],
        entrypoint=[hello],
        style="docker",
    )
    out["dockerlist"] = p.index(R, "dockerlist", [d_amd, d_arm], style="docker")
    out["amd64only-index"] = p.index(R, "amd64only-index", [amd], attest=[p.attestation(R, amd)])
    single("arm64only", go_arm, "arm64", style="docker", variant="v8")
    single("docker-amd64", go_amd, "amd64", style="docker")
    single("go1254", b["go-amd64-1.25.4"], "amd64")
    single("go1250", b["go-amd64-1.25.0"], "amd64")
    single("goamd64v3", b["go-amd64-v3"], "amd64")
    single("c", c_amd, "amd64")
    single("zstd", go_amd, "amd64", compression="zstd")
    single("uncompressed", go_amd, "amd64", compression="none")
    arm7 = p.image(R, None, arch="arm", variant="v7", layers=[p.layer({hello: c_amd})], entrypoint=[hello])
    out["arm32"] = p.index(R, "arm32", [amd, arm7])

    # Whiteouts and opaque directories.
    base = p.layer({"/usr/bin/server": go_amd, "/app/server": go_amd})
    out["whiteout"] = p.image(
        R,
        "whiteout",
        arch="amd64",
        entrypoint=["/usr/bin/server"],
        layers=[base, p.layer({"/usr/bin/server": Whiteout()})],
    )
    out["opaque"] = p.image(
        R,
        "opaque",
        arch="amd64",
        entrypoint=["/app/server"],
        layers=[base, p.layer({"/app": Opaque(), "/app/server": c_amd})],
    )
    # Links: merged-/usr symlinked parent with an absolute symlink; relative dir symlinks; hardlinks.
    merged = p.layer({"/bin": Symlink("usr/bin"), "/usr/bin/hello-1.0": go_amd})
    out["symlink"] = p.image(
        R, "symlink", arch="amd64", entrypoint=[hello], layers=[merged, p.layer({hello: Symlink("/bin/hello-1.0")})]
    )
    out["relsymlink"] = p.image(
        R,
        "relsymlink",
        arch="amd64",
        entrypoint=["/opt/app/current/bin/app"],
        layers=[p.layer({"/opt/app/releases/v2/bin/app": go_amd, "/opt/app/current": Symlink("releases/v2")})],
    )
    out["hardlink"] = p.image(
        R,
        "hardlink",
        arch="amd64",
        entrypoint=["/usr/bin/app"],
        layers=[p.layer({"/usr/lib/app/real": go_amd, "/usr/bin/app": Hardlink("/usr/lib/app/real")})],
    )
    out["symloop"] = p.image(
        R, "symloop", arch="amd64", entrypoint=["/a"], layers=[p.layer({"/a": Symlink("/b"), "/b": Symlink("/a")})]
    )
    # Wrappers, PATH lookups and shell forms.
    tools = p.layer({"/sbin/tini": BUSYBOX_STANDIN, "/bin/sh": c_amd, hello: go_amd, "/usr/bin/c": c_amd})
    out["tini"] = p.image(R, "tini", arch="amd64", entrypoint=["/sbin/tini", "--"], cmd=[hello], layers=[tools])
    out["pathlookup"] = p.image(
        R,
        "pathlookup",
        arch="amd64",
        entrypoint=["hello"],
        env=["PATH=/opt/bin:/usr/bin"],
        layers=[p.layer({"/opt/bin/hello": go_amd, "/usr/bin/hello": c_amd})],
    )
    out["shell-exec"] = p.image(
        R, "shell-exec", arch="amd64", cmd=["/bin/sh", "-c", "exec hello --serve"], layers=[tools]
    )
    out["shell-complex"] = p.image(
        R, "shell-complex", arch="amd64", cmd=["/bin/sh", "-c", "echo start; hello"], layers=[tools]
    )
    out["script"] = p.image(
        R,
        "script",
        arch="amd64",
        entrypoint=["/docker-entrypoint.sh"],
        layers=[tools, p.layer({"/docker-entrypoint.sh": b'#!/bin/sh\nexec hello "$@"\n'})],
    )
    out["missing"] = p.image(R, "missing", arch="amd64", entrypoint=["/nope"], layers=[tools])
    out["relative"] = p.image(
        R,
        "relative",
        arch="amd64",
        entrypoint=["./server"],
        workdir="/srv",
        layers=[p.layer({"/srv/server": go_amd, "/srv/data": Dir()})],
    )
    # Early stop: the entrypoint in the top layer over a large lower layer.
    big = p.layer({"/var/blob": bytes(8 << 20)})
    out["toplayer"] = p.image(R, "toplayer", arch="amd64", entrypoint=[hello], layers=[big, p.layer({hello: go_amd})])
    out["bottomlayer"] = p.image(
        R, "bottomlayer", arch="amd64", entrypoint=[hello], layers=[p.layer({hello: go_amd}), big]
    )
    # A repository with a newer multi-arch tag to suggest.
    A = "kdoctor/app"
    for tag in ("1.0.0", "1.1.0", "latest-amd64"):
        out[f"app:{tag}"] = p.image(A, tag, arch="amd64", layers=[p.layer({hello: go_amd})], entrypoint=[hello])
    a_amd = p.image(A, None, arch="amd64", layers=[p.layer({hello: go_amd})], entrypoint=[hello])
    a_arm = p.image(A, None, arch="arm64", layers=[p.layer({hello: go_arm})], entrypoint=[hello])
    out["app:1.2.0"] = p.index(A, "1.2.0", [a_amd, a_arm])
    out["app:2.0.0-rc1"] = p.index(A, "2.0.0-rc1", [a_amd, a_arm])
    return out


@pytest.fixture(scope="session")
def images(registry: RegistryServer, binaries: dict[str, bytes]) -> Images:
    pusher = Pusher(registry.host)
    return Images(registry.host, binaries, push_catalogue(pusher, binaries))


def scan_dir(tmp: Path) -> Path:
    d = tmp / "cache"
    d.mkdir(exist_ok=True)
    return d
