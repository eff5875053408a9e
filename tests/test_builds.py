"""Build verdicts (issue 23): which Dockerfile stages run under an emulator and which of their RUN steps are known
to die there (checks/build-risks.yaml), on the Dockerfiles of real threads where a build died under emulation
(tests/corpus/build-threads/, labelled before kdoctor read them) and on images in the real test registry.

`python -m pytest tests/test_builds.py -s` prints the thread figures.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from kdoctor.images.builds import EMULATED, NATIVE, judge_builds
from kdoctor.images.inputs.dockerfile import build_plan, parse
from kdoctor.images.judge.build import build_rules
from kdoctor.platforms import Platform, arch_of, is_foreign
from tests.support.cli import run_kdoctor
from tests.support.registry_fixtures import Images

THREADS = Path(__file__).parent / "corpus" / "build-threads"
# The rule a careful reader names for each thread's failing step, from the family the collector wrote down before
# any rule existed (tests/corpus/build-threads/README.md); None: no build rule covers that failure (binfmt missing,
# so nothing ran; Rosetta; cargo killed for memory).
EXPECTED_RULE: dict[str, str | None] = {
    "laradock-phpfpm-80-libcbin": "build-libc-bin-ldconfig-qemu",
    "autobahn-1510-libcbin": "build-libc-bin-ldconfig-qemu",
    "fluentd-315-libcbin": "build-libc-bin-ldconfig-qemu",
    "arr-dashboard-356-pnpm-sigill": "build-node-v8-qemu",
    "superset-40235-npm-sigill": "build-node-v8-qemu",
    "msbuild-8182-dotnet-restore-armv7": "build-dotnet-qemu",
    "shifu-996-go-build-qemu": "build-go-toolchain-qemu",
    "hookshot-444-cargo-killed": None,
    "gangplank-13-exec-format": None,
    "depthai-ros-31-exec-format": None,
    "kalibr-567-exec-format": None,
    "sdcflows-449-rosetta-elf": None,
}


def thread_cases() -> list[str]:
    out = []
    for d in sorted(THREADS.iterdir()):
        f = d / "case.yaml"
        if f.exists():
            doc = yaml.safe_load(f.read_text())
            if doc["expected"].get("dockerfile_line") and any("ockerfile" in x["path"] for x in doc["files"]):
                out.append(d.name)
    return out


def judge_thread(name: str) -> tuple[dict, list]:  # type: ignore[type-arg]
    doc = yaml.safe_load((THREADS / name / "case.yaml").read_text())
    file = next(x["path"] for x in doc["files"] if "ockerfile" in x["path"])
    build = str(doc["build_platform"])
    targets = [t.strip() for t in str(doc["target_platform"]).split(",")]
    foreign = next((t for t in targets if is_foreign(arch_of(t) or "", arch_of(build) or "")), targets[0])
    parsed = parse((THREADS / name / file).read_text())
    plan = build_plan(parsed, file, {s.index for s in parsed.stages}, "", foreign)
    verdicts = judge_builds([plan], [], Platform.parse(build), doc["expected"]["emulator"])
    return doc, verdicts


def test_the_failing_step_of_each_thread_is_named() -> None:
    assert set(thread_cases()) == set(EXPECTED_RULE)  # every thread with a Dockerfile and a failing line is scored
    named, expected, other, misses = 0, 0, [], []
    for name in thread_cases():
        doc, verdicts = judge_thread(name)
        line = doc["expected"]["dockerfile_line"]
        want = EXPECTED_RULE[name]
        got = {s.rule for v in verdicts for s in v.steps if s.line == line}
        if want is None:
            if got:  # a risk the step does carry, though the thread died of something else
                other.append((name, got))
            continue
        expected += 1
        if want in got:
            named += 1
        else:
            misses.append((name, want, got, [(v.stage, v.runs, v.why) for v in verdicts]))
    print(f"\nbuild threads: the failing step named by its rule in {named} of {expected}; "
          f"threads no rule covers where a step still carries a rule: {other}")  # fmt: skip
    for m in misses:
        print("  miss:", m)
    assert expected == 7 and named == 7, misses
    assert other == [("hookshot-444-cargo-killed", {"build-node-v8-qemu"})]  # `yarn build` under QEMU: a real risk


def test_every_rule_names_a_real_signature_and_public_sources() -> None:
    ids = {s["id"] for s in yaml.safe_load((Path(__file__).parent.parent / "checks" / "signatures.yaml").read_text())}
    for rule in build_rules():
        assert set(rule.signatures) <= ids, rule.id
        assert rule.sources and all(s.startswith("https://") for s in rule.sources), rule.id


def test_a_buildplatform_stage_is_never_judged() -> None:
    text = (
        "FROM --platform=$BUILDPLATFORM node:20 AS web\nRUN npm ci\n"
        "FROM --platform=linux/amd64 golang:1.22 AS go\nRUN go build ./...\n"
        "FROM --platform=linux/amd64 golang:1.26 AS newgo\nRUN go build ./...\n"
        "FROM alpine:3.20\nCOPY --from=web /app /app\n"
    )
    parsed = parse(text)
    plan = build_plan(parsed, "Dockerfile", {s.index for s in parsed.stages}, "", None)
    v = {s.stage: s for s in judge_builds([plan], [], Platform.parse("linux/arm64"), "qemu")}
    assert v["web"].runs == NATIVE and not v["web"].steps
    assert v["go"].runs == EMULATED and [s.rule for s in v["go"].steps] == ["build-go-toolchain-qemu"]
    assert v["newgo"].runs == EMULATED and not v["newgo"].steps  # Go 1.26 does not crash under QEMU
    assert v["3"].runs == "unknown"  # alpine was not looked up here: kdoctor does not guess where it runs


@pytest.mark.registry
def test_a_base_without_the_machine_platform_makes_its_steps_emulated(images: Images, tmp_path: Path) -> None:
    amd64_only, multi = images.ref("amd64only"), images.ref("multi")
    (tmp_path / "Dockerfile").write_text(
        f"# syntax=docker/dockerfile:1\nFROM {amd64_only} AS deps\nRUN apt-get update && apt-get install -y curl\n"
        f"RUN <<EOF\nnpm ci\nEOF\nFROM {multi}\nCOPY --from=deps /x /x\nRUN npm ci\n"
    )
    ran = run_kdoctor("images", "-f", str(tmp_path / "Dockerfile"), "--platform", "linux/arm64", "--emulator", "qemu",
                      "-o", "json", env={"KDOCTOR_CACHE_DIR": str(tmp_path / "c")})  # fmt: skip
    doc = json.loads(ran.stdout)
    stages = {b["stage"]: b for b in doc["builds"]}
    assert stages["deps"]["runs"] == "emulated" and stages["1"]["runs"] == "native"
    assert [(s["line"], s["rule"]) for s in stages["deps"]["steps"]] == [
        (3, "build-libc-bin-ldconfig-qemu"),
        (4, "build-node-v8-qemu"),  # the heredoc's body is the step's text
    ]
    assert stages["1"]["steps"] == [] and ran.returncode == 1
    uses = {u["line"]: u for i in doc["images"] for u in i["uses"]}
    assert set(uses) == {2, 7} and uses[2]["workload"] == "stage deps" and uses[2]["path"] == "FROM"
    text = run_kdoctor("images", "-f", str(tmp_path / "Dockerfile"), "--platform", "linux/arm64", "--emulator",
                       "qemu", env={"KDOCTOR_CACHE_DIR": str(tmp_path / "c")}).stdout  # fmt: skip
    assert "stage deps runs emulated" in text and "line 3: RUN apt-get update" in text
