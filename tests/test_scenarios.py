"""Apple Silicon machines replayed from facts snapshots (tests/scenarios/*.json; each .txt says what it is).

Each asserts the exact set of non-ok findings and the exit code of `kdoctor diagnose --facts`.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from kdoctor.cli import app
from tests.conftest import SCENARIOS

# scenario -> (exit code, {(id, severity, subject)})
EXPECTED: dict[str, tuple[int, set[tuple[str, str, str | None]]]] = {
    "dd-rosetta-healthy": (0, set()),
    "colima-vz-no-rosetta": (0, {("KD401", "warning", None)}),
    "docker-vmm": (0, {("KD401", "warning", None), ("KD402", "warning", None)}),
    "minikube-8g-on-4g-vm": (1, {
        ("KD303", "warning", None),
        ("KD601", "error", "dev"),
        ("KD704", "warning", "dev"),
        # the cluster does not answer: nothing was looked at, so nothing is "ok"
        ("KD702", "skipped", None), ("KD705", "skipped", None), ("KD706", "skipped", None),
        ("KD801", "skipped", None),
    }),
    "qemu2-driver": (0, {("KD501", "warning", "dev")}),
    "k8s-version-out-of-range": (1, {("KD701", "error", "dev"), ("KD702", "warning", None)}),
    "x86-tools-under-rosetta": (1, {
        ("KD101", "warning", None),
        ("KD201", "warning", "kubectl"),
        ("KD502", "error", "/usr/local/bin/minikube"),
    }),
    "no-engine": (1, {
        ("KD301", "error", None),
        ("KD302", "skipped", None), ("KD303", "skipped", None), ("KD304", "skipped", None),
        ("KD305", "info", None),  # no version read: known-bad releases not checked
        ("KD401", "skipped", None), ("KD402", "skipped", None), ("KD403", "skipped", None), ("KD404", "info", None),
        ("KD601", "info", "dev"),
        ("KD603", "skipped", None), ("KD604", "skipped", None),
        ("KD704", "warning", "dev"),
        ("KD702", "skipped", None), ("KD705", "skipped", None), ("KD706", "skipped", None),
        ("KD801", "skipped", None),
    }),
    "amd64-docker-desktop": (1, {("KD302", "error", None), ("KD705", "warning", "dev")}),
    "docker-desktop-4.34.0": (1, {("KD305", "error", None)}),
    "kubectl-timeout": (3, {
        ("KD702", "skipped", None), ("KD704", "skipped", None), ("KD705", "skipped", None), ("KD706", "skipped", None),
        ("KD801", "skipped", None),
    }),
    "crashloop-pod": (1, {
        ("KD401", "warning", None),
        ("KD706", "warning", "default/api-7d4b9c"), ("KD706", "warning", "default/legacy-5f6c7"),
        ("KD801", "error", "example/api:1.4"), ("KD801", "error", "example/legacy:2.0"),
    }),
}  # fmt: skip


def run_json(*args: str) -> tuple[int, dict]:
    result = CliRunner().invoke(app, ["diagnose", "--output", "json", *args])
    return result.exit_code, json.loads(result.stdout)


def test_every_scenario_file_has_an_expectation() -> None:
    files = {p.stem for p in SCENARIOS.glob("*.json")}
    assert files == set(EXPECTED)
    assert all((SCENARIOS / f"{name}.txt").exists() for name in files)
    assert len(files) >= 8


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_scenario(name: str) -> None:
    code, doc = run_json("--facts", str(SCENARIOS / f"{name}.json"))
    want_code, want = EXPECTED[name]
    got = {(f["id"], f["severity"], f["subject"]) for f in doc["findings"] if f["severity"] != "ok"}
    if "vms" not in doc["probes"]:  # snapshots from before the Colima/Lima VM probe: KD307 had nothing to read
        want = want | {("KD307", "skipped", None)}
    assert got == want
    assert code == want_code == doc["exit_code"]


def test_fail_on_warning_turns_warnings_into_exit_1() -> None:
    code, _ = run_json("--facts", str(SCENARIOS / "colima-vz-no-rosetta.json"), "--fail-on", "warning")
    assert code == 1
    code, _ = run_json("--facts", str(SCENARIOS / "dd-rosetta-healthy.json"), "--fail-on", "warning")
    assert code == 0


def test_fail_on_from_the_environment() -> None:
    result = CliRunner().invoke(
        app,
        ["diagnose", "--output", "json", "--facts", str(SCENARIOS / "colima-vz-no-rosetta.json")],
        env={"KDOCTOR_FAIL_ON": "warning"},
    )
    assert result.exit_code == 1


def test_fail_on_never_always_exits_0() -> None:
    code, doc = run_json("--facts", str(SCENARIOS / "no-engine.json"), "--fail-on", "never")
    assert code == 0 and doc["summary"]["error"] == 1


def test_every_problem_carries_a_fix() -> None:
    for name in EXPECTED:
        _, doc = run_json("--facts", str(SCENARIOS / f"{name}.json"))
        for f in doc["findings"]:
            if f["severity"] in ("warning", "error"):
                assert f["fix"], (name, f["id"])
                assert f["why"], (name, f["id"])


def test_only_filters_by_id_and_category() -> None:
    _, doc = run_json("--facts", str(SCENARIOS / "docker-vmm.json"), "--only", "emulation", "--only", "KD301")
    assert {f["id"] for f in doc["findings"]} == {"KD301", "KD401", "KD402", "KD403", "KD404"}
