"""Real parts the tests start themselves: a dockerd on a private socket, a registry server.

Each is started by a session fixture and stopped by PID. Nothing listens beyond loopback.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import require_real


@dataclass
class Dockerd:
    host: str  # unix:///…/docker.sock
    root: Path
    proc: subprocess.Popen

    def docker(self, *args: str, input: bytes | None = None, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["docker", "--host", self.host, *args], input=input, capture_output=True, timeout=60, check=check
        )


def start_dockerd() -> Dockerd:
    """Debian's dockerd, rootful, vfs storage, no bridge and no iptables (test-environment.md §3)."""
    if os.geteuid() != 0:
        require_real("dockerd needs root")
    if not shutil.which("dockerd") or not shutil.which("docker"):
        require_real("dockerd is not installed (Debian package docker.io)")
    # A short path: unix socket paths are limited to 108 bytes.
    root = Path(tempfile.mkdtemp(prefix="kd-dockerd-"))
    sock = root / "docker.sock"
    log = open(root / "dockerd.log", "wb")  # noqa: SIM115 - lives as long as the daemon
    proc = subprocess.Popen(
        [
            "dockerd",
            "--data-root",
            str(root / "data"),
            "--exec-root",
            str(root / "exec"),
            "--pidfile",
            str(root / "dockerd.pid"),
            "--storage-driver=vfs",
            "--iptables=false",
            "--ip-masq=false",
            "--ip-forward=false",
            "--bridge=none",
            "--host",
            f"unix://{sock}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    d = Dockerd(f"unix://{sock}", root, proc)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        if sock.exists() and d.docker("version", check=False).returncode == 0:
            return d
        time.sleep(0.1)
    stop_dockerd(d)
    tail = (root / "dockerd.log").read_text(errors="replace")[-800:]
    require_real(f"dockerd did not start: {tail}")
    raise AssertionError("unreachable")


def stop_dockerd(d: Dockerd) -> None:
    d.proc.terminate()
    try:
        d.proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        d.proc.kill()
    shutil.rmtree(d.root, ignore_errors=True)


def busybox_rootfs_tar() -> bytes:
    """A one-binary root filesystem from Debian's busybox-static, for `docker import` (no registry)."""
    busybox = shutil.which("busybox")
    if not busybox:
        require_real("busybox is not installed (Debian package busybox-static)")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        tar.add(busybox, arcname="bin/busybox")
        for applet in ("sh", "grep", "sleep", "mount", "cat", "ls"):
            info = tarfile.TarInfo(f"bin/{applet}")
            info.type, info.linkname = tarfile.SYMTYPE, "busybox"
            tar.addfile(info)
        for d in ("proc", "sys", "tmp"):
            info = tarfile.TarInfo(d)
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(info)
    return buf.getvalue()
