"""Shared fixtures: a fake Mac (HOME + PATH of fakes), and the rule that real parts are required in CI."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import tiers

pytest_plugins = ["tests.support.registry_fixtures", "tests.support.terminal"]

TESTS = Path(__file__).resolve().parent
FAKES = TESTS / "fakes"
DATA = TESTS / "data"
SCENARIOS = TESTS / "scenarios"
REPO = TESTS.parent


# Test tiers (tests/support/tiers.py): `real` is derived from the fixtures a test requests and checked where a real
# part starts; the hooks below feed it.
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    tiers.mark_real(items)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[object]:
    with tiers.running(item):
        return (yield)


def require_real(reason: str) -> None:
    """Skip on a laptop without the real part; fail under CI, where .ci/run installs it."""
    if os.environ.get("KDOCTOR_REQUIRE_REAL") == "1":
        pytest.fail(f"required real part missing under CI: {reason}")
    pytest.skip(reason)


@dataclass
class FakeMachine:
    """A HOME and a PATH holding only the fakes a test installs (plus python3 for them)."""

    root: Path
    bin: Path
    home: Path
    state: Path
    log: Path

    def install(self, *tools: str) -> None:
        for tool in tools:
            target = self.bin / tool
            if not target.exists():
                target.symlink_to(FAKES / tool)

    def calls(self, tool: str | None = None) -> list[list[str]]:
        if not self.log.exists():
            return []
        rows = [json.loads(line) for line in self.log.read_text().splitlines() if line.strip()]
        return [r["argv"] for r in rows if tool is None or r["tool"] == tool]

    def write(self, rel: str, text: str) -> Path:
        path = self.home / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path


@pytest.fixture
def machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeMachine]:
    m = FakeMachine(tmp_path, tmp_path / "bin", tmp_path / "home", tmp_path / "state", tmp_path / "calls.jsonl")
    for d in (m.bin, m.home, m.state):
        d.mkdir()
    (m.bin / "python3").symlink_to(sys.executable)
    monkeypatch.setenv("HOME", str(m.home))
    monkeypatch.setenv("PATH", str(m.bin))
    monkeypatch.setenv("FAKE_STATE", str(m.state))
    monkeypatch.setenv("FAKE_LOG", str(m.log))
    for var in (
        "DOCKER_HOST",
        "DOCKER_CONTEXT",
        "KUBECONFIG",
        "MINIKUBE_HOME",
        "COLIMA_HOME",
        "DOCKER_CONFIG",
        "FAKE_DOCKER_INFO",
        "FAKE_BINFMT",
        "FAKE_KUBE_DIR",
        "FAKE_KUBE_UNREACHABLE",
        "FAKE_HANG",
        "FAKE_DELAY",
    ):
        monkeypatch.delenv(var, raising=False)
    yield m


def apple_silicon_env(monkeypatch: pytest.MonkeyPatch, *, translated: bool = False) -> None:
    """sysctl values an M2 Pro MacBook prints (proc_translated=1 only inside a Rosetta process).
    Install the `uname` fake too for the host to read as Darwin."""
    monkeypatch.setenv("FAKE_SYSCTL_sysctl_proc_translated", "1" if translated else "0")
    monkeypatch.setenv("FAKE_SYSCTL_hw_optional_arm64", "1")
    monkeypatch.setenv("FAKE_SYSCTL_machdep_cpu_brand_string", "Apple M2 Pro")
    monkeypatch.setenv("FAKE_SYSCTL_hw_memsize", str(32 * 1024**3))
