"""The command line: help, version, exit codes, the JSON contract, and bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from kdoctor import __version__
from kdoctor.cli import app
from tests.conftest import DATA, SCENARIOS, FakeMachine, apple_silicon_env
from tests.support.cli import run_kdoctor as run

FINDING_KEYS = {"id", "category", "severity", "title", "message", "why", "fix", "commands", "subject", "data"}


def test_version() -> None:
    res = run("--version")
    assert res.returncode == 0 and res.stdout.strip() == f"kdoctor {__version__}"


@pytest.mark.parametrize(
    ("argv", "started"),
    [
        (["images", "--no-such-flag"], True),  # before the flags are even parsed
        (["images", "--help"], False),
        (["diagnose", "--no-such-flag"], False),
    ],
)
def test_the_ca_bundle_starts_loading_before_the_cli_only_for_images(argv: list[str], started: bool) -> None:
    """The entry point starts loading the SSL context for `kdoctor images` before it imports the CLI framework,
    so the first registry request does not wait for the CA bundle; help and other commands do not load it."""
    probe = (
        "import sys\n"
        f"sys.argv = ['kdoctor', *{argv!r}]\n"
        "from kdoctor import entry\n"
        "from kdoctor.images.registry import tls\n"
        "seen = []\n"
        "import builtins\n"
        "real = builtins.__import__\n"
        "def spy(name, *a, **k):\n"
        "    if name == 'kdoctor.cli' and not seen: seen.append(tls._context is not None)\n"
        "    return real(name, *a, **k)\n"
        "builtins.__import__ = spy\n"
        "try:\n"
        "    entry.main()\n"
        "except SystemExit:\n"
        "    pass\n"
        "builtins.__import__ = real\n"
        "print('started' if seen == [True] else 'not started' if seen == [False] else f'no cli import: {seen}')\n"
    )
    res = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert res.stdout.strip().splitlines()[-1] == ("started" if started else "not started"), res.stderr[-400:]


def _commands() -> list[list[str]]:
    """Every command the app registers, groups and their sub-commands included: a new command is covered here
    without editing this file."""

    def name(c: Any) -> str:
        return str(c.name or c.callback.__name__.replace("_", "-"))

    out = [[name(c)] for c in app.registered_commands]
    for g in app.registered_groups:
        out.append([str(g.name)])
        out += [[str(g.name), name(c)] for c in g.typer_instance.registered_commands]
    return out


@pytest.mark.parametrize("command", _commands(), ids=" ".join)
def test_every_command_has_help(command: list[str]) -> None:
    result = CliRunner().invoke(app, [*command, "--help"])
    assert result.exit_code == 0 and "Usage" in result.stdout


def test_profiles_list_and_show() -> None:
    res = run("profiles")
    assert res.returncode == 0 and all(n in res.stdout for n in ("dev", "ci", "minimal"))
    shown = json.loads(run("profiles", "show", "ci", "-o", "json").stdout)
    assert shown["provider"] == "kind" and shown["cluster"] == "kdoctor-ci"
    assert shown["kindConfig"]["nodeImage"].startswith("kindest/node:v1.36.1@sha256:")


def test_top_level_help_documents_exit_codes() -> None:
    res = run("--help")
    assert res.returncode == 0
    assert "3 some checks could not run" in " ".join(res.stdout.split())


def test_bad_flag_is_exit_2() -> None:
    res = run("diagnose", "--no-such-flag")
    assert res.returncode == 2 and "No such option" in res.stderr


def test_unreadable_facts_file_is_exit_2(tmp_path: Path) -> None:
    res = run("diagnose", "--facts", str(tmp_path / "missing.json"))
    assert res.returncode == 2 and "missing.json" in res.stderr and "Traceback" not in res.stderr


def test_malformed_facts_file_names_file_line_and_key(tmp_path: Path) -> None:
    bad = tmp_path / "facts.json"
    doc = json.loads((SCENARIOS / "dd-rosetta-healthy.json").read_text())
    doc["engine"]["ncpu"] = "eight"
    bad.write_text(json.dumps(doc, indent=2))
    res = run("diagnose", "--facts", str(bad))
    assert res.returncode == 2
    line = next(i for i, ln in enumerate(bad.read_text().splitlines(), 1) if '"ncpu"' in ln)
    assert f"{bad}:{line}: engine.ncpu:" in res.stderr
    bad.write_text('{"host": {"os": "darwin",}')
    res = run("diagnose", "--facts", str(bad))
    assert res.returncode == 2 and f"{bad}:1: not valid JSON" in res.stderr
    bad.write_text('{"schema_version": 99}')
    res = run("diagnose", "--facts", str(bad))
    assert res.returncode == 2 and "schema_version" in res.stderr


def test_json_output_is_only_json_with_the_documented_schema() -> None:
    res = run("diagnose", "--facts", str(SCENARIOS / "minikube-8g-on-4g-vm.json"), "--output", "json")
    doc = json.loads(res.stdout)  # nothing but JSON on stdout
    assert res.returncode == 1 == doc["exit_code"]
    assert doc["schema"] == "kdoctor/diagnose/v1"
    assert set(doc) == {"schema", "kdoctor_version", "exit_code", "summary", "incomplete", "findings", "probes"}
    assert set(doc["summary"]) == {"ok", "info", "warning", "error", "skipped"}
    categories = {"host", "tools", "engine", "emulation", "driver", "resources", "kubernetes", "images"}
    for f in doc["findings"]:
        assert set(f) == FINDING_KEYS
        assert f["category"] in categories
        assert f["severity"] in doc["summary"]


def test_text_report_is_flutter_style_and_plain_without_colour() -> None:
    res = run(
        "diagnose", "--facts", str(SCENARIOS / "minikube-8g-on-4g-vm.json"), env={"NO_COLOR": "1", "TERM": "dumb"}
    )
    out = res.stdout
    assert "\x1b[" not in out
    assert "[✗] Resources" in out and "[✓] Host" in out and "[!] Container engine" in out
    assert "✗ KD601 profile 'dev' asks 8192 MB but the Docker VM has only 3921 MB" in out
    assert "kdoctor found 1 error and 2 warnings in 3 categories." in out
    verbose = run("diagnose", "-v", "--facts", str(SCENARIOS / "minikube-8g-on-4g-vm.json"), env={"NO_COLOR": "1"})
    assert "why:" in verbose.stdout and "• KD101" in verbose.stdout


def test_healthy_report_says_no_issues() -> None:
    res = run("diagnose", "--facts", str(SCENARIOS / "dd-rosetta-healthy.json"), env={"NO_COLOR": "1"})
    assert res.returncode == 0 and "No issues found!" in res.stdout


def test_facts_then_diagnose_on_a_fake_mac(machine: FakeMachine, monkeypatch: pytest.MonkeyPatch) -> None:
    """End to end through the installed entry point: `kdoctor facts` snapshot, then replay it."""
    machine.install("sysctl", "sw_vers", "docker", "kubectl")
    apple_silicon_env(monkeypatch)
    monkeypatch.setenv("FAKE_DOCKER_INFO", str(DATA / "docker" / "info-colima-arm64.json"))
    monkeypatch.setenv("FAKE_KUBE_DIR", str(DATA / "kube"))
    machine.write(".colima/default/colima.yaml", (DATA / "colima" / "colima-vz-norosetta.yaml").read_text())
    facts = run("facts")
    assert facts.returncode == 0
    snap = machine.root / "snap.json"
    snap.write_text(facts.stdout)
    doc = json.loads(run("diagnose", "--facts", str(snap), "-o", "json").stdout)
    by_id = {f["id"]: f for f in doc["findings"]}
    # platform.system() is Linux here, so the host is not a Mac; the colima.yaml still decides emulation.
    assert by_id["KD401"]["severity"] == "warning" and "colima.yaml" in by_id["KD401"]["message"]
    assert by_id["KD202"]["severity"] == "warning"  # minikube/kind not installed on this fake


@pytest.mark.slow
@pytest.mark.real
def test_benchmarks_quick_mode_still_runs() -> None:
    """CI proves the benchmark harness works (tiny sizes); the figures themselves are in README."""
    from tests.conftest import REPO

    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.run",
            "--quick",
            *["--only", "1", "--only", "4", "--only", "5", "--only", "7", "--only", "8"],
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=REPO,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    assert "| 1. lookup cold, kdoctor" in res.stdout and "| 4. diagnose" in res.stdout
    assert "| 5. kdoctor --version" in res.stdout
    assert "| 7. latency cold (20 ms, 20 refs)" in res.stdout and "proxy overhead" in res.stdout
    assert "| 8. cold, --deep (40 refs)" in res.stdout and "| 8. warm, --deep (40 refs)" in res.stdout


def test_a_malformed_platform_is_refused_before_anything_is_probed(machine: FakeMachine) -> None:
    """`--platform` is parsed once, first: a bad one exits 2 and no docker/kubectl is run to detect a target."""
    machine.install("docker", "kubectl")
    res = run("images", "--platform", "arm64", env={"PATH": str(machine.bin)})
    assert res.returncode == 2, res.stderr
    assert "not os/arch" in res.stderr
    assert machine.calls() == []
