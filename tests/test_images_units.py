"""Unit tests of the images building blocks: references, platforms, tar streams, the layer walk,
entrypoint resolution, ELF/Go build info and verdicts. The registry tests cover them end to end."""

from __future__ import annotations

import gzip
import hashlib
import io
import struct
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from kdoctor.images.inspect.entrypoint import candidates, effective_argv, unwrap
from kdoctor.images.inspect.goinfo import BinaryError, elf_info, go_info
from kdoctor.images.inspect.layers import LayerIndex, LayerRef, find_file, resolve
from kdoctor.images.inspect.tarstream import Decompressor, LayerError, TarStream
from kdoctor.images.judge import verdict as V
from kdoctor.images.registry.auth import Credentials, Secret, parse_challenge
from kdoctor.images.registry.reference import ReferenceError, is_loopback_registry, parse
from kdoctor.platforms import Platform, index_entries, match, normalise


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("nginx", "docker.io/library/nginx:latest"),
        ("nginx:1.27", "docker.io/library/nginx:1.27"),
        ("bitnami/redis", "docker.io/bitnami/redis:latest"),
        ("index.docker.io/library/nginx:1", "docker.io/library/nginx:1"),
        ("localhost/app", "localhost/app:latest"),
        ("localhost:5000/team/app:v2", "localhost:5000/team/app:v2"),
        ("registry.example.com:8443/a/b/c:tag", "registry.example.com:8443/a/b/c:tag"),
        ("ghcr.io/o/r@sha256:" + "a" * 64, "ghcr.io/o/r@sha256:" + "a" * 64),
        ("ghcr.io/o/r:v1@sha256:" + "b" * 64, "ghcr.io/o/r:v1@sha256:" + "b" * 64),
        ("[::1]:5000/x", "[::1]:5000/x:latest"),
    ],
)
def test_reference_normalisation(text: str, expected: str) -> None:
    assert str(parse(text)) == expected


def test_digest_wins_and_port_is_not_a_tag() -> None:
    ref = parse("localhost:5000/app:v1@sha256:" + "c" * 64)
    assert ref.ref == "sha256:" + "c" * 64 and ref.registry == "localhost:5000" and ref.tag == "v1"
    assert parse("localhost:5000/app").tag == "latest"  # KubeArchInspect's first-colon bug, avoided
    assert parse("nginx").api_host == "registry-1.docker.io"


@pytest.mark.parametrize("bad", ["", "Nginx", "nginx:", "a b", "x@sha256:123", "ghcr.io/", "a//b", "-x", "x:t@y"])
def test_invalid_references(bad: str) -> None:
    with pytest.raises(ReferenceError):
        parse(bad)


def test_loopback_registries_use_plain_http() -> None:
    assert all(is_loopback_registry(r) for r in ("localhost:5000", "127.0.0.1:5000", "127.3.2.1", "[::1]:5000"))
    assert not any(is_loopback_registry(r) for r in ("docker.io", "10.0.0.1:5000", "ghcr.io"))


def test_platform_normalisation_and_matching() -> None:
    assert normalise("linux", "arm64", "v8") == normalise("linux", "aarch64") == Platform("linux", "arm64")
    assert normalise("Linux", "x86_64") == Platform("linux", "amd64")
    index = {
        "manifests": [
            {"digest": "sha256:a", "platform": {"os": "linux", "architecture": "amd64"}},
            {"digest": "sha256:b", "platform": {"os": "linux", "architecture": "arm", "variant": "v7"}},
            {"digest": "sha256:c", "platform": {"os": "unknown", "architecture": "unknown"}},
            {
                "digest": "sha256:d",
                "platform": {"os": "linux", "architecture": "arm64"},
                "annotations": {"vnd.docker.reference.type": "attestation-manifest"},
            },
        ]
    }
    entries = index_entries(index)
    assert [str(e.platform) for e in entries] == ["linux/amd64", "linux/arm/v7"]
    entry, exact = match(entries, Platform("linux", "arm64"))
    assert entry is not None and entry.digest == "sha256:b" and not exact  # 32-bit fallback, never amd64
    assert match(entries[:1], Platform("linux", "arm64")) == (None, False)
    entry, exact = match(entries, Platform("linux", "amd64"))
    assert entry is not None and exact


def tar_of(*members: tuple[str, bytes | str, str]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as t:
        for name, data, kind in members:
            info = tarfile.TarInfo(name)
            if kind == "file":
                assert isinstance(data, bytes)
                info.size = len(data)
                t.addfile(info, io.BytesIO(data))
            else:
                info.type = tarfile.SYMTYPE if kind == "symlink" else tarfile.LNKTYPE
                info.linkname = str(data)
                t.addfile(info)
    return buf.getvalue()


def stream(blob: bytes, compression: str = "none", cap: int = 1 << 30) -> TarStream:
    chunks = iter([blob[i : i + 1000] for i in range(0, len(blob), 1000)])
    return TarStream(Decompressor(chunks, compression, max_bytes=cap))


def test_tar_stream_long_names_and_contents() -> None:
    long = "deep/" * 40 + "file"
    blob = gzip.compress(tar_of((long, b"payload", "file"), ("/abs/../etc/x", b"y", "file")))
    names = []
    s = stream(blob, "gzip")
    for m in s:
        names.append(m.name)
        if m.name.endswith("file"):
            assert s.read_content(100) == b"payload"
    assert names == [long, "etc/x"]  # leading "/" and ".." never escape the root


def test_tar_stream_rejects_garbage_truncation_and_bombs() -> None:
    with pytest.raises(LayerError, match="not a tar"):
        list(stream(b"this is not a tar archive at all" * 40))
    blob = tar_of(("a", b"x" * 5000, "file"))
    with pytest.raises(LayerError, match="truncated"):
        list(stream(blob[:1500]))
    bomb = gzip.compress(tar_of(("zeros", bytes(5 << 20), "file")))
    assert len(bomb) < 20_000
    with pytest.raises(LayerError, match="bomb"):
        list(stream(bomb, "gzip", cap=1 << 20))


def idx(
    entries: dict[str, tuple[str, str]], whiteouts: set[str] = frozenset(), opaque: set[str] = frozenset()
) -> LayerIndex:  # type: ignore[assignment]
    li = LayerIndex()
    for path, (kind, link) in entries.items():
        li.add(path, kind, link)
    li.whiteouts |= set(whiteouts)
    li.opaque |= set(opaque)
    return li


def test_resolution_rules() -> None:
    base = idx({"bin": ("symlink", "usr/bin"), "usr/bin/app": ("file", ""), "opt/x": ("file", "")})
    assert resolve("/bin/app", [base], complete=True).path == "/usr/bin/app"
    top = idx({}, whiteouts={"usr/bin"})
    assert resolve("/bin/app", [top, base], complete=True).status == "missing"  # a whited-out parent
    top = idx({"opt/y": ("file", "")}, opaque={"opt"})
    assert resolve("/opt/x", [top, base], complete=True).status == "missing"
    assert resolve("/opt/y", [top, base], complete=True).status == "file"
    loop = idx({"a": ("symlink", "b"), "b": ("symlink", "/a")})
    assert resolve("/a", [loop], complete=True).status == "loop"
    assert resolve("/nothing", [base], complete=False).status == "unknown"


def test_find_file_stops_at_the_first_layer_that_settles_it() -> None:
    opened: list[str] = []
    blobs = {
        "sha256:low": tar_of(("usr/bin/app", b"LOW", "file")),
        "sha256:top": tar_of(("usr/bin/app", b"TOP", "file")),
    }

    def opener(layer: LayerRef):  # type: ignore[no-untyped-def]
        opened.append(layer.digest)
        yield blobs[layer.digest]

    layers = [
        LayerRef("sha256:low", "application/vnd.oci.image.layer.v1.tar"),
        LayerRef("sha256:top", "application/vnd.oci.image.layer.v1.tar"),
    ]
    found, _ = find_file(layers, ["/usr/bin/app"], opener)
    assert found is not None and found.data == b"TOP" and opened == ["sha256:top"]


def test_hardlink_whose_target_was_streamed_past_is_read_again() -> None:
    blob = tar_of(("usr/lib/real", b"REAL", "file"), ("usr/bin/app", "usr/lib/real", "hardlink"))
    calls = []

    def opener(layer: LayerRef):  # type: ignore[no-untyped-def]
        calls.append(layer.digest)
        yield blob

    digest = "sha256:" + hashlib.sha256(blob).hexdigest()
    found, _ = find_file([LayerRef(digest, "application/vnd.oci.image.layer.v1.tar")], ["/usr/bin/app"], opener)
    assert found is not None and found.data == b"REAL" and found.path == "/usr/lib/real" and len(calls) == 2


def test_layer_digest_mismatch_is_refused_when_read_to_the_end() -> None:
    blob = tar_of(("etc/other", b"x", "file"))

    def opener(layer: LayerRef):  # type: ignore[no-untyped-def]
        yield blob

    with pytest.raises(LayerError, match="does not match its digest"):
        find_file([LayerRef("sha256:" + "0" * 64, "application/vnd.oci.image.layer.v1.tar")], ["/app"], opener)


@pytest.mark.parametrize(
    ("argv", "program", "indeterminate"),
    [
        (["/sbin/tini", "--", "/app", "-x"], "/app", False),
        (["tini", "-s", "-g", "/app"], "/app", False),
        (["dumb-init", "--single-child", "/app"], "/app", False),
        (["/bin/sh", "-c", "exec /app --flag"], "/app", False),
        (["/bin/sh", "-c", "FOO=1 exec app"], "app", False),
        (["bash", "-c", "/app && echo done"], "bash", True),
        (["sh", "-c", "echo $HOME"], "sh", True),
        (["/usr/bin/env", "A=1", "python3", "x.py"], "python3", False),
        ([], None, True),
    ],
)
def test_unwrap(argv: list[str], program: str | None, indeterminate: bool) -> None:
    p = unwrap(argv)
    assert p.program == program and (p.note is not None) == indeterminate


def test_kubernetes_command_args_semantics_and_path() -> None:
    assert effective_argv(["/e"], ["c1"], None, None) == ["/e", "c1"]
    assert effective_argv(["/e"], ["c1"], None, ["a"]) == ["/e", "a"]
    assert effective_argv(["/e"], ["c1"], ["/k"], None) == ["/k"]  # command drops CMD too
    assert effective_argv(["/e"], ["c1"], ["/k"], ["a"]) == ["/k", "a"]
    assert candidates("app", ["PATH=/opt/bin:/usr/bin"], None) == ["/opt/bin/app", "/usr/bin/app"]
    assert candidates("app", None, None)[0] == "/usr/local/sbin/app"
    assert candidates("./run", None, "/srv") == ["/srv/run"]


def pointer_format_elf(version: bytes = b"go1.16.15", mod: bytes = b"path\texample.com/old\n") -> bytes:
    """A minimal ELF64 with Go 1.13-1.17's pointer-format build info in a writable PT_LOAD segment."""
    base, size = 0x400000, 0x1000
    data = bytearray(size)
    struct.pack_into("<4sBBBBBxxxxxxx", data, 0, b"\x7fELF", 2, 1, 1, 0, 0)
    struct.pack_into("<HHIQQQIHHHHHH", data, 16, 2, 62, 1, base + 0x100, 64, 0, 0, 64, 56, 1, 0, 0, 0)
    struct.pack_into("<IIQQQQQQ", data, 64, 1, 6, 0, base, base, size, size, 0x1000)  # PT_LOAD, RW
    bi = 0x200
    data[bi : bi + 16] = b"\xff Go buildinf:" + bytes([8, 0])
    sv, sm, strings = 0x300, 0x320, 0x400
    struct.pack_into("<QQ", data, bi + 16, base + sv, base + sm)
    framed = mod
    struct.pack_into("<QQ", data, sv, base + strings, len(version))
    struct.pack_into("<QQ", data, sm, base + strings + 0x40, len(framed))
    data[strings : strings + len(version)] = version
    data[strings + 0x40 : strings + 0x40 + len(framed)] = framed
    return bytes(data)


def test_go_build_info_pointer_format() -> None:
    blob = pointer_format_elf()
    assert elf_info(blob).machine == "amd64" and elf_info(blob).static
    info = go_info(blob)
    assert info is not None and info.version == "go1.16.15" and info.path == "example.com/old"


def test_corrupt_binaries_raise_only_binary_error() -> None:
    blob = pointer_format_elf()
    for bad in (b"", b"\x7fELF", blob[:40], b"\x7fELF" + b"\xff" * 200, blob[:0x210]):
        with pytest.raises(BinaryError):
            go_info(bad)
    lying = bytearray(blob)
    struct.pack_into("<QQ", lying, 0x200 + 16, 0xDEAD0000, 0xBEEF0000)  # pointers outside the file
    with pytest.raises(BinaryError):
        go_info(bytes(lying))
    assert go_info(blob.replace(b"\xff Go buildinf:", b"\xff Not buildinf")) is None


def ep(**kw: object) -> V.Entrypoint:
    return V.Entrypoint(path="/app", kind="elf", machine="amd64", **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("entry", "emulator", "verdict"),
    [
        (ep(go_version="go1.24.6"), "qemu", V.CRASH),
        (ep(go_version="go1.25.3"), "qemu", V.CRASH),
        (ep(go_version="go1.25.4"), "qemu", V.EMULATED),
        (ep(go_version="go1.26.0"), "qemu", V.EMULATED),
        (ep(go_version="go1.22.3 X:boringcrypto"), "qemu", V.CRASH),
        (ep(go_version="go1.22.3"), "rosetta", V.EMULATED),
        (ep(go_version="go1.26.0", goamd64="v3"), "rosetta", V.CRASH),
        (ep(go_version="go1.22.3"), "unknown", V.CRASH),
        (ep(), "qemu", V.EMULATED),
        (ep(go_version="go1.22.3"), "none", V.UNSUPPORTED),
    ],
)
def test_emulated_verdicts(entry: V.Entrypoint, emulator: str, verdict: str) -> None:
    assert V.emulated_verdict(entry, emulator, "amd64")[0] == verdict


def test_secrets_never_render() -> None:
    s = Secret("hunter2")
    creds = Credentials(username="u", password=s, source="auths")
    assert "hunter2" not in repr(s) + str(s) + repr(creds) + f"{creds}"
    assert s.reveal() == "hunter2"


def test_challenge_parsing_is_quote_aware() -> None:
    scheme, params = parse_challenge(
        'Bearer realm="https://auth.example/token?x=1,y=2",service="reg",scope="repository:a/b:pull,push"'
    )
    assert scheme == "bearer"
    assert params == {
        "realm": "https://auth.example/token?x=1,y=2",
        "service": "reg",
        "scope": "repository:a/b:pull,push",
    }
    assert parse_challenge('Basic realm="kdoctor-test"') == ("basic", {"realm": "kdoctor-test"})


def test_cache_blob_reads_verify_and_never_fail(tmp_path: Path) -> None:
    """A blob on disk is returned only when it matches its digest; a corrupted file, a directory in its place
    or a malformed digest is a miss (the registry is asked again), never an error."""
    from kdoctor.images.registry.cache import Cache

    data = b'{"schemaVersion": 2}'
    digest = f"sha256:{hashlib.sha256(data).hexdigest()}"
    cache = Cache(tmp_path)
    cache.put_blob(digest, data)
    assert Cache(tmp_path).get_blob(digest) == data
    path = tmp_path / "blobs" / "sha256" / digest.split(":")[1]
    path.write_bytes(data + b" ")
    assert Cache(tmp_path).get_blob(digest) is None
    path.unlink()
    path.mkdir()
    assert Cache(tmp_path).get_blob(digest) is None
    assert Cache(tmp_path).get_blob("sha256:" + "G" * 64) is None
    assert Cache(tmp_path).get_blob("sha512:" + "a" * 128) is None


def test_cache_notes_are_one_file_per_kind_and_keep_the_newest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tag notes and analyses notes are each one file, read once and written once per run; a file keeps the
    NOTES_MAX entries written last (a note written again counts as new), and a corrupt file is an empty one."""
    from kdoctor.images.registry import cache as cache_mod
    from kdoctor.images.registry.cache import Cache

    monkeypatch.setattr(cache_mod, "NOTES_MAX", 3)
    c = Cache(tmp_path)
    for k in "abcd":
        c.put_note("analyses.json", k, {"v": k})
    c.put_note("analyses.json", "a", {"v": "a2"})  # written again: newest
    c.put_tag("r:1", "sha256:" + "0" * 64, "m")
    c.flush()
    again = Cache(tmp_path)
    assert [again.get_note("analyses.json", k) for k in "abcd"] == [{"v": "a2"}, None, {"v": "c"}, {"v": "d"}]
    tag = again.get_tag("r:1")
    assert tag is not None and tag["digest"] == "sha256:" + "0" * 64
    (tmp_path / "analyses.json").write_text("{not json")
    assert Cache(tmp_path).get_note("analyses.json", "c") is None
    off = Cache(tmp_path / "off", enabled=False)  # --no-cache: remembered for the run, never written
    off.put_note("analyses.json", "x", {"v": 1})
    off.flush()
    assert off.get_note("analyses.json", "x") == {"v": 1} and not (tmp_path / "off").exists()


def test_the_tls_context_is_loaded_once_and_shared() -> None:
    """`kdoctor images` starts loading the CA bundle early (in a thread); every client then gets that one
    context, whichever thread asks first."""
    import threading

    from kdoctor.images.registry.tls import start_tls_context, tls_context
    from kdoctor.images.registry.transport import HostPools

    fut = start_tls_context()
    assert start_tls_context() is fut
    got: list[object] = []
    threads = [threading.Thread(target=lambda: got.append(tls_context())) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 4 and all(c is fut.result() for c in got)
    pools = HostPools(timeout=5.0, size=2)
    try:
        client = pools.for_url("https://registry.example/v2/")
        assert client is pools.for_url("https://registry.example/v2/x")  # one client per thread and host
        assert client is not pools.for_url("https://token.example/token")
    finally:
        pools.close()


def test_an_error_answer_is_read_only_as_far_as_its_first_kilobytes() -> None:
    """A registry (or a proxy before it) may answer 4xx/5xx with megabytes of HTML, or trickle it: the error
    is made from the first 4 KiB and the rest is never read."""
    import httpx

    from kdoctor.images.registry.wire import status_error

    class Endless(httpx.SyncByteStream):
        def __init__(self, first: bytes) -> None:
            self.first, self.served = first, 0

        def __iter__(self) -> Iterator[bytes]:
            yield self.first
            while True:
                self.served += 1024
                assert self.served <= 64 << 10, "read far past the first kilobytes"
                yield b" " * 1024

    for status, first, want in [
        (404, b'{"errors":[{"code":"NAME_UNKNOWN"}]}', "404 not found (name unknown)"),
        (500, b"<html>" + b"x" * 5000, "500 from registry.example"),
    ]:
        stream = Endless(first)
        err = status_error(httpx.Response(status, stream=stream), "registry.example")
        assert err.reason == want and stream.served <= 8 << 10
