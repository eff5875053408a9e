"""kdoctor itself, run like a user, with the real kubectl against the recorded API server (tests/apiserver).

A test module imports the fixture explicitly:

    from tests.support import kubereal
    kube = kubereal.kube

    def test_x(kube):
        kube.server.load("default")
        code, doc, err = kube.kdoctor("diagnose", "-o", "json")

`kube.env` is a fake Apple Silicon Mac (fake uname/sysctl/sw_vers; no docker, minikube or kind unless a test
installs their fakes) whose PATH holds the real kubectl, with KUBECONFIG and HOME pointing at the server's.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests import apiserver
from tests.apiserver import ApiServer
from tests.conftest import FakeMachine, apple_silicon_env
from tests.support.cli import run_kdoctor


@dataclass
class Kube:
    server: ApiServer
    machine: FakeMachine
    env: dict[str, str]

    def kdoctor(self, *args: str, timeout: float = 120) -> tuple[int, dict[str, Any], str]:
        """Run kdoctor; (exit code, the JSON document on stdout or {}, stderr)."""
        res = run_kdoctor(*args, timeout=timeout, env=self.env, inherit_env=False)
        out = res.stdout.strip()
        return res.returncode, (json.loads(out) if out.startswith("{") else {}), res.stderr

    def kdoctor_text(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return run_kdoctor(*args, timeout=timeout, env=self.env, inherit_env=False)

    def api_calls(self) -> list[str]:
        """`METHOD path` of every request but the Google Cloud SDK dispatcher's own /version probe."""
        return [
            f"{r.method} {r.path}"
            for r in self.server.requests
            if not (r.path == "/version" and r.param("timeout") == "5s")
        ]


@pytest.fixture
def kube(machine: FakeMachine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Kube]:
    apiserver.link_kubectl(machine.bin)
    machine.install("uname", "sysctl", "sw_vers")
    apple_silicon_env(monkeypatch)
    with apiserver.running_api_server(tmp_path / "cluster") as server:
        env = apiserver.kubectl_env(server)  # os.environ as the machine fixture left it: PATH is machine.bin
        env.update(
            KDOCTOR_CACHE_DIR=str(tmp_path / "cache"),
            DOCKER_CONFIG=str(tmp_path / "docker-config"),
            KDOCTOR_LOG_DIR=str(tmp_path / "logs"),
            NO_COLOR="1",
        )
        env.pop("CI", None)
        yield Kube(server, machine, env)


def node(name: str = "minikube", arch: str = "arm64") -> dict[str, Any]:
    """The recorded minikube node (fixtures/nodes/minikube-arm64.json), renamed and/or with another architecture:
    minikube names a profile's first node after the profile; an amd64 node reports `amd64` in both places."""
    doc: dict[str, Any] = json.loads((apiserver.FIXTURES / "nodes" / "minikube-arm64.json").read_text())
    if name != "minikube":
        doc["metadata"]["name"] = name
        doc["metadata"]["labels"]["kubernetes.io/hostname"] = name
    if arch != "arm64":
        doc["metadata"]["labels"]["kubernetes.io/arch"] = arch
        doc["metadata"]["labels"]["beta.kubernetes.io/arch"] = arch
        doc["status"]["nodeInfo"]["architecture"] = arch
    return doc
