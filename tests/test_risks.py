"""The risk catalogue (checks/risks.yaml): its integrity, its link to `why`'s signatures, identification from real
os-release files, and the verdict each rule gives under QEMU, Rosetta and no emulator.

Labels below were written from the catalogue's cited evidence before kdoctor ran on the samples.
"""

from __future__ import annotations

import pytest

from kdoctor.images.inspect.entrypoint import Entrypoint
from kdoctor.images.inspect.identify import ImageFacts, parse_os_release
from kdoctor.images.judge import verdict as V
from kdoctor.images.judge.features import feature_entry
from kdoctor.images.judge.risks import EFFECTS, catalogue, rule_for_signature
from kdoctor.why.signatures import catalogue as signatures
from tests.conftest import TESTS

OS_RELEASE = TESTS / "data" / "os-release"


def test_every_rule_is_sourced_and_names_existing_signatures_and_features() -> None:
    sig_ids = {s.id for s in signatures()}
    owner: dict[str, str] = {}
    for rule in catalogue():
        assert rule.sources and rule.message and rule.reason and rule.fixes, rule.id
        assert rule.signatures, f"{rule.id}: `why` must recognise the failure it predicts"
        for sig in rule.signatures:
            assert sig in sig_ids, f"{rule.id}: no signature {sig} in checks/signatures.yaml"
            assert sig not in owner, f"{sig} belongs to {owner[sig]} and {rule.id}"
            owner[sig] = rule.id
        if len(rule.signatures) == 1:
            assert rule.id == rule.signatures[0], "one failure, one id on both sides"
        if rule.needs and rule.needs not in ("isa-level", "goamd64"):
            assert feature_entry(rule.needs) is not None, rule.needs
        for effect, why in rule.effects.values():
            assert effect in EFFECTS and why


def test_every_feature_says_what_each_emulator_provides() -> None:
    for name in ("AVX", "AVX2", "x86-64-v2", "x86-64-v3", "x86-64-v4"):
        provides = (feature_entry(name) or {}).get("provides") or {}
        assert set(provides) == {"rosetta", "qemu"} and set(provides.values()) <= {"yes", "no", "depends", "unknown"}


@pytest.mark.parametrize(
    ("signature", "rule"),
    [
        ("glibc-x86-64-v2", "glibc-x86-64-v2"),
        ("glibc-x86-64-v3", "glibc-x86-64-v3"),
        ("glibc-isa-level-needed", "glibc-isa-level-needed"),
        ("cpu-avx-mongodb", "cpu-avx-mongodb"),
        ("dotnet-inotify-qemu", "dotnet-qemu-unsupported"),
        ("dotnet-coreclr", "dotnet-qemu-unsupported"),
        ("v8-coderange", "v8-coderange"),
        ("go-lfstack-push", "go-lfstack-push"),
        ("exec-format-error", None),
    ],
)
def test_why_signatures_name_the_images_rule(signature: str, rule: str | None) -> None:
    assert rule_for_signature(signature) == rule


def judge(emulator: str, *, osr: str | None = None, **kw: object) -> V.Judgement:
    ep_keys = {"go_version", "goamd64", "isa_needed", "runtime"}
    ep = Entrypoint(
        path="/usr/local/bin/app", kind="elf", machine="amd64", **{k: v for k, v in kw.items() if k in ep_keys}
    )  # type: ignore[arg-type]
    facts = ImageFacts(
        os_release=parse_os_release((OS_RELEASE / osr).read_bytes()) if osr else None,
        os_release_path="/etc/os-release" if osr else None,
        isa_needed=ep.isa_needed,
        runtime=ep.runtime,
        env=kw.get("env", {}),  # type: ignore[arg-type]
        repository=str(kw.get("repository", "example/app")),
        argv=list(kw.get("argv", [])),  # type: ignore[call-overload]
    )
    return V.judge(ep, emulator, "amd64", facts)


def verdict_and_risks(j: V.Judgement) -> tuple[str, list[tuple[str, str]]]:
    return j.verdict, [(r.rule.id, r.effect) for r in j.risks]


V2 = ("glibc-x86-64-v2", "depends")


@pytest.mark.parametrize(
    ("case", "emulator", "expected"),
    [
        # RHEL 9 family (x86-64-v2): Rosetta reports v2; QEMU does from 7.2 (max), not with qemu64.
        ({"osr": "rocky-9.6"}, "qemu", ("emulated", [V2])),
        ({"osr": "rocky-9.6"}, "rosetta", ("emulated", [])),
        ({"osr": "rocky-9.6"}, "none", ("unsupported", [])),
        ({"osr": "almalinux-9.6"}, "qemu", ("emulated", [V2])),
        ({"osr": "centos-stream9-image-excerpt"}, "qemu", ("emulated", [V2])),
        ({"osr": "centos-stream9-image-excerpt"}, "unknown", ("emulated", [V2])),
        # RHEL 10 family (x86-64-v3): Rosetta does not report AVX2 -> glibc stops at start.
        ({"osr": "almalinux-10.0"}, "rosetta", ("crash", [("glibc-x86-64-v3", "crash")])),
        ({"osr": "almalinux-10.0"}, "qemu", ("emulated", [("glibc-x86-64-v3", "depends")])),
        ({"osr": "almalinux-10.0"}, "unknown", ("crash", [("glibc-x86-64-v3", "crash")])),
        ({"osr": "rhel-8.0"}, "qemu", ("emulated", [])),
        ({"osr": "rhel-8.0"}, "rosetta", ("emulated", [])),
        # The ELF ISA marker: v3 like RHEL 10; v4 has no emulator that reports it (QEMU 7.2 measured).
        ({"isa_needed": "v3"}, "rosetta", ("crash", [("glibc-isa-level-needed", "crash")])),
        ({"isa_needed": "v3"}, "qemu", ("emulated", [("glibc-isa-level-needed", "depends")])),
        ({"isa_needed": "v4"}, "rosetta", ("crash", [("glibc-isa-level-needed", "crash")])),
        ({"isa_needed": "v2"}, "rosetta", ("emulated", [])),
        # MongoDB 5+ needs AVX; 4.4 does not.
        ({"env": {"MONGO_VERSION": "8.0.26"}}, "rosetta", ("crash", [("cpu-avx-mongodb", "crash")])),
        ({"env": {"MONGO_VERSION": "8.0.26"}}, "qemu", ("emulated", [("cpu-avx-mongodb", "depends")])),
        ({"env": {"MONGO_VERSION": "4.4.29"}}, "rosetta", ("emulated", [])),
        ({"repository": "tensorflow/tensorflow"}, "rosetta", ("crash", [("cpu-avx-tensorflow", "crash")])),
        # .NET: not supported under QEMU (fails often), no failure recorded under Rosetta.
        ({"env": {"DOTNET_VERSION": "8.0.30"}}, "qemu", ("emulated", [("dotnet-qemu-unsupported", "fails")])),
        ({"runtime": "dotnet"}, "qemu", ("emulated", [("dotnet-qemu-unsupported", "fails")])),
        ({"runtime": "dotnet"}, "rosetta", ("emulated", [])),
        ({"runtime": "dotnet"}, "none", ("unsupported", [])),
        # Node >= 16.4 under QEMU: reported with QEMU 5.x, current releases unknown.
        ({"env": {"NODE_VERSION": "22.23.2"}}, "qemu", ("emulated", [("v8-coderange", "unknown")])),
        ({"env": {"NODE_VERSION": "14.21.3"}}, "qemu", ("emulated", [])),
        ({"env": {"NODE_VERSION": "22.23.2"}}, "rosetta", ("emulated", [])),
        (
            {"argv": ["/bin/sh", "-c", "ldconfig && exec app"]},
            "qemu",
            ("emulated", [("qemu-ldconfig-segfault", "unknown")]),
        ),
        # Go, as before issue 14, now from the catalogue.
        ({"go_version": "go1.19.8"}, "qemu", ("crash", [("go-lfstack-push", "crash")])),
        ({"go_version": "go1.25.2"}, "qemu", ("crash", [("go-tagged-pointer-pack", "crash")])),
        ({"go_version": "go1.19.8"}, "rosetta", ("emulated", [("go-lfstack-push", "unknown")])),
        ({"go_version": "go1.26.0", "goamd64": "v3"}, "rosetta", ("crash", [("go-goamd64-level", "crash")])),
        ({"go_version": "go1.26.0", "goamd64": "v3"}, "qemu", ("emulated", [("go-goamd64-level", "depends")])),
    ],
)
def test_rule_verdicts(case: dict[str, object], emulator: str, expected: tuple[str, list[tuple[str, str]]]) -> None:
    assert verdict_and_risks(judge(emulator, **case)) == expected  # type: ignore[arg-type]


def test_a_crash_carries_the_rules_message_and_fixes() -> None:
    j = judge("rosetta", osr="almalinux-10.0")
    assert "Fatal glibc error: CPU does not support x86-64-v3" in j.reason
    assert "/etc/os-release: ID=almalinux VERSION_ID=10.0 PLATFORM_ID=platform:el10" in j.reason
    assert j.suggestion and "Turn Rosetta off" in j.suggestion and "Update the engine's QEMU" not in j.suggestion
    doc = j.risks[0].to_json()
    assert set(doc) >= {"id", "severity", "evidence", "source"} and doc["severity"] == "error"
    assert "crc-org/vfkit/issues/265" in doc["source"]


def test_an_unknown_risk_says_so() -> None:
    j = judge("qemu", env={"NODE_VERSION": "22.23.2"})
    assert "unknown risk v8-coderange" in j.reason and "not known" in j.reason


def test_absent_and_looping_entrypoints_are_unknown_never_emulated() -> None:
    for kind, text in (("missing", "no such file or directory"), ("loop", "too many levels of symbolic links")):
        j = V.judge(Entrypoint(kind=kind, note="n"), "qemu", "amd64")
        assert j.verdict == V.UNKNOWN and text in j.reason


def test_why_json_names_the_risk_rule_images_reports() -> None:
    from kdoctor.why.explain import match_json
    from kdoctor.why.signatures import match_text

    log = "2026-12-05T06:30:11Z Fatal glibc error: CPU does not support x86-64-v3\n"
    (m,) = match_text(log, "logs")
    assert match_json(m)["risk"] == judge("rosetta", osr="almalinux-10.0").risks[0].rule.id == "glibc-x86-64-v3"
