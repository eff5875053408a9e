"""Secrets stay secret: registry passwords, identity tokens and credential-helper secrets placed in
fixtures never appear in any output mode of any command — text, -v, JSON, facts snapshots, error
messages, logs. Each run also proves it got as far as using the secret (a login-only registry answered
it), so the absence of the secret in the output means something."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import require_real
from tests.support.cli import run_kdoctor
from tests.support.realparts import RegistryServer, start_registry
from tests.support.registry_fixtures import Images

pytestmark = pytest.mark.faults
PASSWORD = "pw-Zx9-never-shown"
IDENTITY = "idtok-Qq7-never-shown"
HELPER_SECRET = "helper-Kk3-never-shown"
NOWHERE = "ghcr.io/none/none:1"  # unreachable here: the identity token sits unused beside it


@pytest.fixture(scope="module")
def login_registry(
    registry: RegistryServer, images: Images, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RegistryServer]:
    """The images registry's data behind htpasswd, with one user per secret under test."""
    if not shutil.which("htpasswd"):
        require_real("htpasswd is not installed (Debian package apache2-utils)")
    work = tmp_path_factory.mktemp("secrets-registry")
    lines = []
    for user, password in (("kdoctor", PASSWORD), ("helper", HELPER_SECRET)):
        hp = subprocess.run(["htpasswd", "-Bbn", user, password], capture_output=True, text=True, check=True)
        lines.append(hp.stdout.strip())
    (work / "htpasswd").write_text("\n".join(lines) + "\n")
    server = start_registry(
        work,
        f"auth:\n  htpasswd:\n    realm: kdoctor-secrets\n    path: {work / 'htpasswd'}\n",
        data=registry.root / "data",
    )
    yield server
    server.stop()


def test_no_secret_in_any_output(images: Images, login_registry: RegistryServer, machine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    port = login_registry.host.rsplit(":", 1)[1]
    by_auths = f"{login_registry.host}/kdoctor/hello:amd64only"  # 127.0.0.1:PORT: config.json `auths`
    by_helper = f"localhost:{port}/kdoctor/hello:amd64only"  # the same server under another name: the helper
    cfg = tmp_path / "docker"
    cfg.mkdir()
    basic = base64.b64encode(f"kdoctor:{PASSWORD}".encode()).decode()
    (cfg / "config.json").write_text(
        json.dumps(
            {
                "auths": {login_registry.host: {"auth": basic}, "ghcr.io": {"identitytoken": IDENTITY}},
                "credHelpers": {f"localhost:{port}": "leaky"},
            }
        )
    )
    called = tmp_path / "helper-called"
    helper = machine.bin / "docker-credential-leaky"
    helper.write_text(
        f"#!{sys.executable}\nimport json\nopen({str(called)!r}, 'a').write('get\\n')\n"
        f"print(json.dumps({{'Username': 'helper', 'Secret': {HELPER_SECRET!r}}}))\n"
    )
    helper.chmod(0o755)
    machine.install("kubectl", "docker", "uname")
    env = {
        **os.environ,
        "DOCKER_CONFIG": str(cfg),
        "KDOCTOR_CACHE_DIR": str(tmp_path / "cache"),
        "KDOCTOR_LOG": "debug",
    }
    qemu = ["--platform", "linux/arm64", "--emulator", "qemu", "--no-cache"]
    # (args, expected exit code, for JSON runs: ref -> expected verdict). A verdict of `crash` on a
    # login-only registry proves the secret was read and accepted.
    runs: list[tuple[list[str], int, dict[str, str]]] = [
        (["images", by_auths, by_helper, *qemu, "--timeout", "2"], 1, {}),
        (["images", "-v", by_auths, *qemu], 1, {}),
        (["images", "-o", "json", by_auths, by_helper, *qemu], 1, {by_auths: "crash", by_helper: "crash"}),
        (["images", "-o", "json", NOWHERE, *qemu, "--timeout", "1"], 3, {NOWHERE: "unknown"}),
        (["facts"], 0, {}),
        (["diagnose", "-v"], -1, {}),
        (["diagnose", "-o", "json"], -1, {}),
        (["why", "--log", str(cfg / "config.json")], 1, {}),
        (["images", "-f", str(cfg / "config.json")], 0, {}),
    ]
    for args, code, verdicts in runs:
        res = run_kdoctor(*args, env=env, inherit_env=False)
        blob = res.stdout + res.stderr
        for secret in (PASSWORD, IDENTITY, HELPER_SECRET, basic):
            assert secret not in blob, (args, secret)
        assert "Traceback" not in blob, args
        if code >= 0:
            assert res.returncode == code, (args, res.returncode, res.stderr[-500:])
        if verdicts:
            got = {i["ref"]: i["verdict"] for i in json.loads(res.stdout)["images"]}
            assert got == verdicts, (args, got)
    assert called.exists(), "the credential helper was never asked, so its secret was never at risk"
