"""A recorded Kubernetes API server for driving the real kubectl (see server.py, fixtures/SOURCES.md).

Use it from a test module by importing the fixture explicitly:

    from tests import apiserver
    api_server = apiserver.api_server

    def test_nodes(api_server):
        api_server.load("default")
        res = apiserver.kubectl(api_server, "get", "nodes", "-o", "json")

`api_server` is function-scoped: a fresh server (fresh CA, empty store but for the four system namespaces) on a
free loopback port, with a kubeconfig (`.kubeconfig`, context "kdoctor-test", client certificate) and a HOME of
its own (`.home`) so kubectl's discovery and OpenAPI caches never leak between tests or from the user.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.apiserver.server import FIXTURES, ApiServer, RecordedRequest
from tests.conftest import require_real
from tests.support.tiers import uses_real_part

__all__ = [
    "FIXTURES",
    "ApiServer",
    "KubectlResult",
    "RecordedRequest",
    "api_server",
    "kubectl",
    "kubectl_env",
    "kubectl_path",
    "link_kubectl",
    "running_api_server",
]

KUBECTL = "/usr/bin/kubectl"


def kubectl_path() -> str:
    """The real kubectl: $KDOCTOR_KUBECTL, else /usr/bin/kubectl, else the one on PATH; skip (fail under
    KDOCTOR_REQUIRE_REAL=1) without."""
    uses_real_part("the real kubectl")
    chosen = os.environ.get("KDOCTOR_KUBECTL")
    if chosen:
        if not os.access(chosen, os.X_OK):
            require_real(f"KDOCTOR_KUBECTL={chosen} is not an executable")
        return chosen
    if os.access(KUBECTL, os.X_OK):
        return KUBECTL
    found = shutil.which("kubectl")
    if not found:
        require_real("kubectl is not installed (/usr/bin/kubectl; see tests/apiserver/README.md for how to get one)")
    return str(found)


def link_kubectl(bin_dir: Path) -> Path:
    """Put the real kubectl on a PATH directory as `kubectl`, where kdoctor (which runs `kubectl` from PATH) finds
    it. A symlink: the Google Cloud SDK dispatcher still finds its kubectl.1.NN siblings through it."""
    link = bin_dir / "kubectl"
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(kubectl_path())
    return link


@contextmanager
def running_api_server(workdir: Path, **options: Any) -> Iterator[ApiServer]:
    """Start a server under `workdir` (its kubeconfig at workdir/kubeconfig, its HOME at workdir/home)."""
    server = ApiServer(workdir / "apiserver", **options)
    server.start()
    try:
        server.home = workdir / "home"
        server.home.mkdir(parents=True, exist_ok=True)
        server.kubeconfig = server.write_kubeconfig(workdir / "kubeconfig")
        yield server
    finally:
        server.stop()


@pytest.fixture
def api_server(tmp_path: Path) -> Iterator[ApiServer]:
    kubectl_path()
    with running_api_server(tmp_path) as server:
        yield server


def kubectl_env(handle: ApiServer, kubeconfig: Path | None = None) -> dict[str, str]:
    """Environment for a kubectl subprocess: KUBECONFIG and HOME of the handle, nothing kube-related from outside."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KUBE", "KUBECTL"))}
    env["KUBECONFIG"] = str(kubeconfig or handle.kubeconfig)
    env["HOME"] = str(handle.home)
    return env


@dataclass
class KubectlResult:
    argv: list[str]
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    def json(self) -> Any:
        return json.loads(self.stdout)


def kubectl(
    handle: ApiServer,
    *args: str,
    input: str | None = None,
    kubeconfig: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 30,
) -> KubectlResult:
    """Run the real kubectl against the handle's server."""
    argv = [kubectl_path(), *args]
    started = time.monotonic()
    proc = subprocess.run(
        argv,
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**kubectl_env(handle, kubeconfig), **(env or {})},
    )
    return KubectlResult(argv, proc.returncode, proc.stdout, proc.stderr, time.monotonic() - started)
