"""Secrets stay secret: registry passwords, identity tokens and bearer tokens placed in fixtures never
appear in any output mode of any command — text, -v, JSON, facts snapshots, error messages, logs."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.registry_fixtures import Images

pytestmark = pytest.mark.faults
PASSWORD = "pw-Zx9-never-shown"
IDENTITY = "idtok-Qq7-never-shown"
HELPER_SECRET = "helper-Kk3-never-shown"


def test_no_secret_in_any_output(images: Images, machine, monkeypatch, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cfg = tmp_path / "docker"
    cfg.mkdir()
    basic = base64.b64encode(f"kdoctor:{PASSWORD}".encode()).decode()
    (cfg / "config.json").write_text(
        json.dumps(
            {
                "auths": {images.host: {"auth": basic}, "ghcr.io": {"identitytoken": IDENTITY}},
                "credHelpers": {"registry.example.invalid": "leaky"},
            }
        )
    )
    helper = machine.bin / "docker-credential-leaky"
    helper.write_text(
        f"#!{sys.executable}\nimport json\nprint(json.dumps({{'Username': 'u', 'Secret': {HELPER_SECRET!r}}}))\n"
    )
    helper.chmod(0o755)
    machine.install("kubectl", "docker", "uname")
    env = {
        **os.environ,
        "DOCKER_CONFIG": str(cfg),
        "KDOCTOR_CACHE_DIR": str(tmp_path / "cache"),
        "KDOCTOR_LOG": "debug",
    }
    runs = [
        [
            "images",
            images.ref("amd64only"),
            "registry.example.invalid/x/y:1",
            "--platform",
            "linux/arm64",
            "--emulator",
            "qemu",
            "--timeout",
            "1",
        ],
        ["images", "-v", images.ref("amd64only"), "--platform", "linux/arm64", "--emulator", "qemu"],
        [
            "images",
            "-o",
            "json",
            images.ref("amd64only"),
            "ghcr.io/none/none:1",
            "--platform",
            "linux/arm64",
            "--emulator",
            "qemu",
            "--timeout",
            "1",
        ],
        ["facts"],
        ["diagnose", "-v"],
        ["diagnose", "-o", "json"],
        ["why", "--log", str(cfg / "config.json")],
        ["images", "-f", str(cfg / "config.json")],
    ]
    for args in runs:
        res = subprocess.run(
            [sys.executable, "-m", "kdoctor", *args], capture_output=True, text=True, env=env, timeout=120
        )
        blob = res.stdout + res.stderr
        for secret in (PASSWORD, IDENTITY, HELPER_SECRET, basic):
            assert secret not in blob, (args, secret)
