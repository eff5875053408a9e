"""The fault and bad-input suite (pytest -m faults): hostile registries, hostile layers, broken tools.

Registry faults are injected by tests/support/faultproxy.py between kdoctor and the real registry server.
Each case asserts the outcome kdoctor promises: the right verdict despite the fault, or a per-image
`unknown` with a reason — never a crash, a hang, a trusted bad digest or a leaked credential."""

from __future__ import annotations

import base64
import gzip
import io
import json
import os
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kdoctor.images.inputs.uses import ImageUse
from kdoctor.images.registry.cache import Cache
from kdoctor.images.registry.client import RegistryClient
from kdoctor.images.scan import Scanner
from kdoctor.platforms import Platform
from tests.support.cli import IMAGES_ARM64_QEMU, Ran, run_kdoctor
from tests.support.faultproxy import FaultProxy, Rule
from tests.support.imagebuilder import Pusher, sha
from tests.support.realparts import RegistryServer
from tests.support.registry_fixtures import Images

pytestmark = pytest.mark.faults
ARM64 = Platform.parse("linux/arm64")
HELLO = "/usr/local/bin/hello"


@pytest.fixture(scope="module")
def proxy(registry: RegistryServer, images: Images) -> Iterator[FaultProxy]:
    p = FaultProxy(registry.host)
    p.start()
    yield p
    p.stop()


@pytest.fixture
def faults(proxy: FaultProxy) -> Iterator[FaultProxy]:
    proxy.rules.clear()
    proxy.seen.clear()
    yield proxy
    proxy.rules.clear()


def scan(
    host: str,
    tag: str,
    *,
    emulator: str = "qemu",
    timeout: float = 2.0,
    retries: int = 2,
    repo: str = "kdoctor/hello",
    client: RegistryClient | None = None,
):  # type: ignore[no-untyped-def]
    c = client or RegistryClient(cache=Cache(enabled=False), docker_config=None, timeout=timeout, retries=retries)
    try:
        t0 = time.monotonic()
        r = Scanner(c, ARM64, emulator, suggest=False).scan_one(ImageUse(f"{host}/{repo}:{tag}"))
        return r, time.monotonic() - t0
    finally:
        if client is None:
            c.close()


def kdoctor_images(home: Path, *args: str, timeout: float = 60) -> Ran:
    """`kdoctor images` for linux/arm64 under QEMU, with its own cache and no docker credentials."""
    env = {"KDOCTOR_CACHE_DIR": str(home / "cache"), "DOCKER_CONFIG": str(home / "docker")}
    return run_kdoctor(*IMAGES_ARM64_QEMU, *args, timeout=timeout, env=env)


MANIFEST = r"/v2/kdoctor/hello/manifests/"
BLOBS = r"/v2/kdoctor/hello/blobs/"

# (case id, rules, tag, expected verdict, reason fragment or None, time bound in seconds)
REGISTRY_FAULTS = [
    ("latency", [Rule(MANIFEST, "latency", delay=0.5)], "multi", "native", None, 5),
    ("reset-once", [Rule(MANIFEST, "reset", times=1)], "multi", "native", None, 5),
    ("reset-always", [Rule(MANIFEST, "reset")], "multi", "unknown", "connection broke", 10),
    ("truncated-once", [Rule(MANIFEST, "truncate", times=1)], "multi", "native", None, 5),
    ("truncated-always", [Rule(MANIFEST, "truncate")], "multi", "unknown", "connection broke", 10),
    ("500-twice", [Rule(MANIFEST, "status", status=500, times=2)], "multi", "native", None, 8),
    ("502-always", [Rule(MANIFEST, "status", status=502)], "multi", "unknown", "502", 10),
    ("503-always", [Rule(MANIFEST, "status", status=503)], "multi", "unknown", "503", 10),
    ("429-retry-after", [Rule(MANIFEST, "status", status=429, retry_after="1", times=1)], "multi", "native", None, 5),
    ("429-always", [Rule(MANIFEST, "status", status=429)], "multi", "unknown", "429 rate limited", 10),
    (
        "429-huge-retry-after",
        [Rule(MANIFEST, "status", status=429, retry_after="86400")],
        "multi",
        "unknown",
        "429",
        35,
    ),
    ("401-loop", [Rule(MANIFEST, "401-loop")], "multi", "unknown", "401", 5),
    ("wrong-content-type", [Rule(MANIFEST, "content-type")], "multi", "native", None, 5),
    ("digest-mismatch", [Rule(MANIFEST, "corrupt")], "amd64only", "unknown", "do not match digest", 5),
    ("blob-digest-mismatch", [Rule(BLOBS, "corrupt")], "amd64only", "unknown", "do not match digest", 5),
    ("oversized-manifest", [Rule(MANIFEST, "oversize")], "multi", "unknown", "cap", 5),
    ("slow-loris", [Rule(MANIFEST, "slowloris", delay=0.5)], "multi", "unknown", "too slowly", 12),
    ("blob-reset", [Rule(BLOBS, "reset")], "amd64only", "unknown", "connection broke", 15),
]


@pytest.mark.parametrize(
    ("case", "rules", "tag", "verdict", "reason", "bound"), REGISTRY_FAULTS, ids=[c[0] for c in REGISTRY_FAULTS]
)
def test_registry_fault(
    faults: FaultProxy, case: str, rules: list[Rule], tag: str, verdict: str, reason: str | None, bound: float
) -> None:
    faults.rules.extend(rules)
    r, took = scan(faults.host, tag)
    assert r.verdict == verdict, r.reason
    if reason:
        assert reason in r.reason
    assert took < bound
    attempts = sum(1 for s in faults.seen if "/manifests/" in s["path"])
    assert attempts <= 1 + 2 * 3  # bounded retries (and one re-auth at most per request)


def test_digest_mismatch_is_never_cached(faults: FaultProxy, tmp_path: Path) -> None:
    faults.rules.append(Rule(MANIFEST, "corrupt", times=1))
    cache = Cache(tmp_path / "c")
    client = RegistryClient(cache=cache, docker_config=None, timeout=2, retries=0)
    r, _ = scan(faults.host, "amd64only", client=client)
    assert r.verdict == "unknown"
    r2, _ = scan(faults.host, "amd64only", client=RegistryClient(cache=cache, docker_config=None, timeout=2))
    assert r2.verdict == "crash"  # the good bytes, fetched again: nothing bad was kept
    client.close()


def test_redirect_to_another_host_drops_credentials(faults: FaultProxy, tmp_path: Path) -> None:
    from tests.support.faultproxy import FaultProxy as Other

    other = Other(faults.upstream)  # a second host that records what reaches it, forwarding as normal
    other.start()
    try:
        faults.rules.append(Rule(BLOBS, "redirect", target=other.host))
        # The proxy asks for Basic auth first, so kdoctor holds credentials when the redirect comes.
        faults.rules.insert(0, Rule(MANIFEST, "401-loop", times=1))
        cfg = tmp_path / "docker"
        cfg.mkdir()
        secret = base64.b64encode(b"kdoctor:redirect-secret").decode()
        (cfg / "config.json").write_text(json.dumps({"auths": {faults.host: {"auth": secret}}}))
        from kdoctor.images.registry.auth import DockerConfig

        client = RegistryClient(
            cache=Cache(enabled=False), docker_config=DockerConfig.load(cfg / "config.json"), timeout=3, retries=1
        )
        r, _ = scan(faults.host, "amd64only", client=client)
        client.close()
        assert r.verdict == "crash", r.reason
        assert any(s["authorization"].startswith("Basic ") for s in faults.seen)
        assert other.seen and all(s["authorization"] == "" for s in other.seen)
    finally:
        other.stop()


def test_an_index_that_refers_to_itself_ends(faults: FaultProxy) -> None:
    """A registry answering an index whose amd64 entry points back at the index itself. Content addressing
    makes a true cycle impossible, so the reply for the entry's digest cannot match it: refused, not looped."""
    body = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [
                {
                    "mediaType": "application/vnd.oci.image.index.v1+json",
                    "digest": "sha256:" + "a" * 64,
                    "size": 300,
                    "platform": {"os": "linux", "architecture": "amd64"},
                }
            ],
        }
    ).encode()
    faults.rules.append(
        Rule(
            r"/manifests/(cycle|sha256:a{64})$",
            "serve",
            body=body,
            media_type="application/vnd.oci.image.index.v1+json",
        )
    )
    r, took = scan(faults.host, "cycle")
    assert r.verdict == "unsupported" and took < 5
    assert r.entrypoint is not None and "do not match digest" in (r.entrypoint.note or "")
    assert sum(1 for s in faults.seen if "sha256:aaaa" in s["path"]) <= 3


def test_whole_run_with_every_fault_finishes_in_bounded_time(faults: FaultProxy, tmp_path: Path) -> None:
    faults.rules.extend(
        [
            Rule(r"/manifests/multi$", "status", status=503),
            Rule(r"/manifests/c$", "slowloris", delay=0.5),
            Rule(r"/manifests/arm64only$", "reset"),
            Rule(r"/manifests/dockerlist$", "status", status=429),
        ]
    )
    refs = [f"{faults.host}/kdoctor/hello:{t}" for t in ("multi", "c", "arm64only", "dockerlist", "amd64only")]
    t0 = time.monotonic()
    res = kdoctor_images(tmp_path, "-o", "json", "--timeout", "2", *refs, timeout=120)
    took = time.monotonic() - t0
    doc = json.loads(res.stdout)
    verdicts = {i["ref"].rsplit(":", 1)[1]: i["verdict"] for i in doc["images"]}
    assert verdicts == {
        "multi": "unknown",
        "c": "unknown",
        "arm64only": "unknown",
        "dockerlist": "unknown",
        "amd64only": "crash",
    }
    assert res.returncode == 1 and took < 40 and "Traceback" not in res.stderr


# --- hostile layers ------------------------------------------------------------------------------


def raw_layer(tar_bytes: bytes, compression: str = "gzip") -> tuple[bytes, str, str]:
    if compression == "gzip":
        blob, mt = gzip.compress(tar_bytes, 1), "application/vnd.oci.image.layer.v1.tar+gzip"
    elif compression == "zstd":
        import zstandard

        blob, mt = zstandard.ZstdCompressor(level=3).compress(tar_bytes), "application/vnd.oci.image.layer.v1.tar+zstd"
    else:
        blob, mt = tar_bytes, "application/vnd.oci.image.layer.v1.tar"
    return blob, sha(tar_bytes), mt


def push_raw(p: Pusher, tag: str, layers: list[tuple[bytes, str, str]], entrypoint: list[str]) -> str:
    from tests.support.imagebuilder import Layer

    img = p.image(
        "kdoctor/hostile", tag, arch="amd64", layers=[Layer(b, d, m) for b, d, m in layers], entrypoint=entrypoint
    )
    return img.digest


def tar_with(entries: list[tuple[str, bytes | None, str, str]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as t:
        for name, data, kind, link in entries:
            info = tarfile.TarInfo(name)
            if kind == "file":
                info.size = len(data or b"")
                t.addfile(info, io.BytesIO(data or b""))
            else:
                info.type = tarfile.SYMTYPE if kind == "symlink" else tarfile.LNKTYPE
                info.linkname = link
                t.addfile(info)
    return buf.getvalue()


def zero_stream_gzip(total: int) -> bytes:
    """A gzip member that expands to a tar with one `total`-byte file of zeros (built without holding it)."""
    import zlib

    header = tarfile.TarInfo("bomb")
    header.size = total
    head = header.tobuf(format=tarfile.GNU_FORMAT)
    co = zlib.compressobj(9, zlib.DEFLATED, 31)
    out = [co.compress(head)]
    chunk = bytes(1 << 20)
    for _ in range(total >> 20):
        out.append(co.compress(chunk))
    out.append(co.compress(bytes(1024)))
    out.append(co.flush())
    return b"".join(out)


@pytest.fixture(scope="module")
def hostile(registry: RegistryServer, binaries: dict[str, bytes]) -> dict[str, str]:
    p = Pusher(registry.host)
    go = binaries["go-amd64"]
    refs: dict[str, str] = {}

    def add(tag: str, layers: list[tuple[bytes, str, str]], entrypoint: list[str] = (HELLO,)) -> None:  # type: ignore[assignment]
        push_raw(p, tag, layers, list(entrypoint))
        refs[tag] = f"{registry.host}/kdoctor/hostile:{tag}"

    bomb = zero_stream_gzip(600 << 20)
    add("gzip-bomb", [(bomb, "sha256:" + "0" * 64, "application/vnd.oci.image.layer.v1.tar+gzip")])
    import zstandard

    zb = zstandard.ZstdCompressor(level=19).compress(tar_with([("zeros", bytes(300 << 20), "file", "")]))
    add("zstd-bomb", [(zb, "sha256:" + "1" * 64, "application/vnd.oci.image.layer.v1.tar+zstd")])
    add(
        "abs-and-dotdot",
        [raw_layer(tar_with([("/usr/local/bin/hello", go, "file", ""), ("../../../../etc/evil", b"x", "file", "")]))],
    )
    add(
        "symlink-loop",
        [
            raw_layer(
                tar_with(
                    [
                        ("usr/local/bin/hello", None, "symlink", "/a"),
                        ("a", None, "symlink", "b"),
                        ("b", None, "symlink", "/a"),
                    ]
                )
            )
        ],
    )
    chain = (
        [("usr/local/bin/hello", None, "symlink", "l1")]
        + [(f"usr/local/bin/l{i}", None, "symlink", f"l{i + 1}") for i in range(1, 30)]
        + [("usr/local/bin/l30", go, "file", "")]
    )
    add("symlink-chain", [raw_layer(tar_with(chain))])
    add(
        "hardlink-loop",
        [raw_layer(tar_with([("usr/local/bin/hello", None, "link", "x"), ("x", None, "link", "usr/local/bin/hello")]))],
    )
    add(
        "whiteout-entrypoint",
        [
            raw_layer(tar_with([("usr/local/bin/hello", go, "file", "")])),
            raw_layer(tar_with([("usr/local/bin/.wh.hello", b"", "file", "")])),
        ],
    )
    many = [(f"f/{i:06d}", b"x", "file", "") for i in range(50_000)] + [("usr/local/bin/hello", go, "file", "")]
    add("many-tiny-files", [raw_layer(tar_with(many))])
    full = raw_layer(tar_with([("usr/local/bin/hello", go, "file", "")]))
    add("truncated-layer", [(full[0][: len(full[0]) // 2], full[1], full[2])])
    add("not-a-tar", [raw_layer(os.urandom(200_000), "none")])
    bad_elf = b"\x7fELF" + os.urandom(4000)
    add("corrupt-elf", [raw_layer(tar_with([("usr/local/bin/hello", bad_elf, "file", "")]))])
    lying = bytearray(go)
    i = lying.find(b"\xff Go buildinf:")
    lying[i + 32] = 0x7F  # the version string's length now overruns the section
    lying[i + 33 : i + 40] = b"\xff" * 7
    add("lying-buildinfo", [raw_layer(tar_with([("usr/local/bin/hello", bytes(lying), "file", "")]))])
    return refs


HOSTILE = [
    ("gzip-bomb", "unknown", "bomb"),
    ("zstd-bomb", "unknown", "bomb"),
    ("abs-and-dotdot", "crash", None),
    # Issue 14: a looping or absent entrypoint cannot start anywhere: relabelled "emulated" -> "unknown".
    ("symlink-loop", "unknown", "symlink hops"),
    ("symlink-chain", "crash", None),
    ("hardlink-loop", "unknown", "symlink hops"),
    ("whiteout-entrypoint", "unknown", "not found"),
    ("many-tiny-files", "crash", None),
    ("truncated-layer", "unknown", "truncated"),
    ("not-a-tar", "unknown", "not a tar"),
    ("corrupt-elf", "emulated", "corrupt ELF"),
    ("lying-buildinfo", "emulated", "build info"),
]


@pytest.mark.parametrize(("tag", "verdict", "fragment"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_layer(
    hostile: dict[str, str],
    tag: str,
    verdict: str,
    fragment: str | None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import resource

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    host, _, _rest = hostile[tag].partition("/")
    r, took = scan(host, tag, repo="kdoctor/hostile", timeout=5)
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert r.verdict == verdict, r.reason
    if fragment:
        note = (r.entrypoint.note or "") if r.entrypoint else ""
        assert fragment in r.reason + note
    assert took < 30 and grown_mb < 150
    assert list(tmp_path.iterdir()) == []  # nothing written to disk


@pytest.mark.parametrize(
    "body",
    [
        b'{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", '
        b'"config": "nope", "layers": 3}',
        b'{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": {"a": 1}}',
        b'{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", "config": {"digest": 5}}',
        b"[1, 2, 3]",
        b'{"mediaType": "application/vnd.docker.distribution.manifest.v1+prettyjws", "fsLayers": []}',
    ],
)
def test_wrongly_shaped_manifests_are_unknown(faults: FaultProxy, body: bytes) -> None:
    faults.rules.append(Rule(r"/manifests/shape$", "serve", body=body, media_type="application/json"))
    r, _ = scan(faults.host, "shape")
    assert r.verdict in ("unknown", "unsupported"), r.reason
    assert r.reason


def test_rate_limit_headers_are_reported(faults: FaultProxy, tmp_path: Path) -> None:
    faults.rules.append(Rule(MANIFEST, "ratelimit"))
    res = kdoctor_images(tmp_path / "json", "-o", "json", f"{faults.host}/kdoctor/hello:multi")
    doc = json.loads(res.stdout)
    assert doc["rate_limits"] == {
        faults.host: {"limit": "100;w=21600", "remaining": "76;w=21600", "source": "192.0.2.7"}
    }
    text = kdoctor_images(tmp_path / "text", f"{faults.host}/kdoctor/hello:multi").stdout
    # Issue 15 changed this line from the raw headers ("76;w=21600 of 100;w=21600 pulls left") to plain words.
    assert "76 of 100 pulls left in the next 6 h; `docker login`, or `--max-age` to answer from the cache" in text
