"""Property-based tests (hypothesis): parsers fed arbitrary input raise only kdoctor's own errors."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kdoctor.errors import KdoctorError
from kdoctor.images.inspect.goinfo import elf_info, go_info
from kdoctor.images.inspect.tarstream import Decompressor, TarStream
from kdoctor.images.registry.reference import parse
from kdoctor.platforms import Platform, index_entries, match, normalise
from kdoctor.provision.profile import parse_profile
from kdoctor.why.signatures import match_text

pytestmark = pytest.mark.faults
FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

ref_chars = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABC0123456789.:/@-_ sha256[]", max_size=80)


@FAST
@given(ref_chars)
def test_reference_parsing_never_crashes(text: str) -> None:
    try:
        ref = parse(text)
    except KdoctorError:
        return
    assert parse(str(ref)) == ref  # normalisation is idempotent
    assert ref.registry and ref.repository and (ref.tag or ref.digest)


@FAST
@given(
    st.sampled_from(["", "nginx", "library/nginx", "a/b/c"]),
    st.sampled_from(["", ":1.0", ":latest"]),
    st.sampled_from(["", "localhost:5000/", "ghcr.io/", "docker.io/", "index.docker.io/"]),
)
def test_reference_round_trip(name: str, tag: str, registry: str) -> None:
    if not name:
        return
    ref = parse(registry + name + tag)
    assert str(parse(str(ref))) == str(ref)
    assert ref.tag == (tag[1:] or "latest")


json_leaf = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=10))
json_value = st.recursive(
    json_leaf,
    lambda kids: (
        st.lists(kids, max_size=4)
        | st.dictionaries(
            st.sampled_from(["platform", "os", "architecture", "variant", "digest", "mediaType", "annotations", "x"]),
            kids,
            max_size=5,
        )
    ),
    max_leaves=20,
)


@FAST
@given(
    st.dictionaries(st.sampled_from(["manifests", "mediaType", "x"]), json_value, max_size=3),
    st.sampled_from(["arm64", "amd64", "arm", "riscv64"]),
)
def test_platform_matching_on_arbitrary_indexes(index: dict, arch: str) -> None:
    try:
        entries = index_entries(index)
    except (AttributeError, TypeError):  # manifests that are not a list of objects
        pytest.fail("index_entries must tolerate any JSON")
    entry, _ = match(entries, Platform("linux", arch))
    assert entry is None or entry in entries


@FAST
@given(st.text(max_size=10), st.text(max_size=10), st.text(max_size=10))
def test_normalise_is_total(os_: str, arch: str, variant: str) -> None:
    p = normalise(os_, arch, variant)
    assert normalise(p.os, p.arch, p.variant) == p


@FAST
@given(st.binary(max_size=4096))
def test_build_info_parser_raises_only_kdoctor_errors_on_arbitrary_bytes(data: bytes) -> None:
    for blob in (data, b"\x7fELF" + data):
        try:
            go_info(blob)
            elf_info(blob)
        except KdoctorError:
            pass


@FAST
@given(st.binary(max_size=8192), st.sampled_from(["none", "gzip", "zstd"]))
def test_tar_reader_raises_only_kdoctor_errors_on_arbitrary_bytes(data: bytes, compression: str) -> None:
    src = Decompressor(iter([data]), compression, max_bytes=1 << 20)
    try:
        t = TarStream(src)
        for m in t:
            if m.type == "file" and m.size < 1 << 16:
                t.read_content(1 << 16)
    except KdoctorError:
        pass


yaml_text = st.one_of(
    st.text(max_size=200),
    st.builds(
        lambda k, v: f"name: x\nprovider: minikube\n{k}: {v}\n",
        st.sampled_from(
            [
                "resources",
                "nodes",
                "kubernetes",
                "addons",
                "registry",
                "ports",
                "kindConfig",
                "runtime",
                "kubelet",
                "bogus",
            ]
        ),
        st.sampled_from(
            [
                "1",
                "[",
                "{a: 1}",
                "- x",
                "v1.2",
                "stable",
                "{cpus: {share: 2}}",
                "''",
                "-1",
                "{memory: lots}",
                "[{containerPort: 0}]",
            ]
        ),
    ),
)


@FAST
@given(yaml_text)
def test_profile_loading_on_arbitrary_text(text: str) -> None:
    try:
        parse_profile(text, "fuzz.yaml")
    except KdoctorError as exc:
        assert "fuzz.yaml" in str(exc)


# Real failure lines (tests/data/why/logs.yaml, each from the upstream thread named there) and their signatures.
KNOWN_LINES = [
    ("fatal error: lfstack.push", "go-lfstack-push"),
    ("fatal error: taggedPointerPack", "go-tagged-pointer-pack"),
    ("This program can only be run on AMD64 processors with v3 microarchitecture support.", "go-goamd64-level"),
]
NOISE = st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=80), max_size=8)


@FAST
@given(NOISE, NOISE, st.sampled_from(KNOWN_LINES))
def test_a_known_line_is_recognised_wherever_it_stands_in_a_log(
    before: list[str], after: list[str], known: tuple[str, str]
) -> None:
    """A failure line among arbitrary other lines is still recognised, and its evidence is that line."""
    line, signature = known
    text = "\n".join([*before, line, *after])
    hits = [m for m in match_text(text, "log") if m.signature.id == signature]
    assert hits, [m.signature.id for m in match_text(text, "log")]
    assert any(line in m.evidence or any(line in x for x in m.lines) for m in hits)
