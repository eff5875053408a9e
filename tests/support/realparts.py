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
from tests.support.tiers import uses_real_part


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
    uses_real_part("dockerd")
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
        for applet in ("sh", "grep", "sleep", "mount", "cat", "ls", "mkdir", "tee"):
            info = tarfile.TarInfo(f"bin/{applet}")
            info.type, info.linkname = tarfile.SYMTYPE, "busybox"
            tar.addfile(info)
        for d in ("proc", "sys", "tmp"):
            info = tarfile.TarInfo(d)
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(info)
    return buf.getvalue()


# --- the OCI registry server (CNCF distribution, Debian package docker-registry) ------------------

REGISTRY_CONFIG = """version: 0.1
log:
  level: info
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: {root}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:0
  secret: kdoctor-test-secret
health:
  storagedriver:
    enabled: false
{auth}"""


@dataclass
class RegistryServer:
    host: str  # "127.0.0.1:PORT"
    root: Path
    proc: subprocess.Popen

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def start_registry(workdir: Path, auth_yaml: str = "", data: Path | None = None) -> RegistryServer:
    """Start `docker-registry serve` on a free loopback port (parsed from its log line)."""
    uses_real_part("the registry server")
    exe = shutil.which("docker-registry")
    if not exe:
        require_real("docker-registry is not installed (Debian package docker-registry)")
    workdir.mkdir(parents=True, exist_ok=True)
    cfg = workdir / "config.yml"
    cfg.write_text(REGISTRY_CONFIG.format(root=data or workdir / "data", auth=auth_yaml))
    log_path = workdir / "registry.log"
    log = open(log_path, "wb")  # noqa: SIM115 - lives as long as the server
    proc = subprocess.Popen([exe, "serve", str(cfg)], stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 20
    import re

    while time.monotonic() < deadline:
        text = log_path.read_text(errors="replace")
        m = re.search(r"listening on 127\.0\.0\.1:(\d+)", text)
        if m:
            return RegistryServer(f"127.0.0.1:{m.group(1)}", workdir, proc)
        if proc.poll() is not None:
            break
        time.sleep(0.02)
    proc.kill()
    require_real(f"docker-registry did not start: {log_path.read_text(errors='replace')[-500:]}")
    raise AssertionError("unreachable")


# --- Go and C binaries built here ---------------------------------------------------------------

GO_MAIN = (
    'package main\n\nimport (\n\t"fmt"\n\t"os"\n)\n\n'
    'func main() { fmt.Println("hello from kdoctor test", len(os.Args)) }\n'
)


def build_binaries(out: Path) -> dict[str, bytes]:
    """Real Go programs cross-compiled with Debian's golang-go, and a C program built with gcc."""
    uses_real_part("the Go toolchain")
    go = shutil.which("go")
    if not go:
        require_real("go is not installed (Debian package golang-go)")
    src = out / "src"
    src.mkdir(parents=True, exist_ok=True)
    (src / "main.go").write_text(GO_MAIN)
    (src / "go.mod").write_text("module example.com/kdoctor/hello\n\ngo 1.19\n")
    cache = Path(os.environ.get("KDOCTOR_TEST_GOCACHE", Path.home() / ".cache" / "kdoctor-tests" / "go"))
    env = {
        **os.environ,
        "GOCACHE": str(cache / "build"),
        "GOPATH": str(cache / "path"),
        "GOTOOLCHAIN": "local",
        "GOFLAGS": "-mod=mod",
        "GO111MODULE": "on",
        "GOPROXY": "off",
    }
    builds = {
        "go-amd64": {"GOARCH": "amd64", "CGO_ENABLED": "0", "flags": ["-trimpath", "-ldflags=-s -w"]},
        "go-arm64": {"GOARCH": "arm64", "CGO_ENABLED": "0", "flags": ["-trimpath"]},
        "go-amd64-v3": {"GOARCH": "amd64", "GOAMD64": "v3", "CGO_ENABLED": "0", "flags": ["-trimpath"]},
        # Go's internal linker makes a PIE a dynamic ELF with PT_INTERP /lib/ld-linux-aarch64.so.1 (no cgo needed).
        "go-arm64-pie": {"GOARCH": "arm64", "CGO_ENABLED": "0", "flags": ["-trimpath", "-buildmode=pie"]},
    }
    result: dict[str, bytes] = {}
    for name, spec in builds.items():
        target = out / name
        if not target.exists():
            e = {**env, "GOOS": "linux", **{k: v for k, v in spec.items() if k != "flags"}}
            subprocess.run(
                [go, "build", *spec["flags"], "-o", str(target), "."],
                cwd=src,
                env=e,
                check=True,  # type: ignore[list-item]
                capture_output=True,
                timeout=600,
            )
        result[name] = target.read_bytes()
    cc = shutil.which("gcc")
    if not cc:
        require_real("gcc is not installed")
    csrc = out / "hello.c"
    csrc.write_text('#include <stdio.h>\nint main(void) { puts("hello from C"); return 0; }\n')
    cbin = out / "c-amd64"
    if not cbin.exists():
        subprocess.run([cc, "-O1", "-o", str(cbin), str(csrc)], check=True, capture_output=True, timeout=120)
    result["c-amd64"] = cbin.read_bytes()
    return result


def with_go_version(binary: bytes, old: str, new: str) -> bytes:
    """The same binary with its build-info Go version string replaced (same length, so the format holds).

    Debian ships go1.19; this is how the tests get binaries that *say* go1.25.4 or go1.25.0."""
    assert len(old) == len(new)
    marker = binary.find(b"\xff Go buildinf:")
    assert marker >= 0
    pos = binary.find(old.encode(), marker)
    assert 0 < pos - marker < 64
    return binary[:pos] + new.encode() + binary[pos + len(old) :]


def registry_rootfs_tar() -> bytes:
    """A registry image from Debian's docker-registry binary and the libc it links (no Docker Hub here)."""
    exe = shutil.which("docker-registry")
    if not exe:
        require_real("docker-registry is not installed (Debian package docker-registry)")
    out = subprocess.run(["ldd", exe], capture_output=True, text=True, check=True).stdout
    libs = [p for p in (part.split("=>")[-1].split("(")[0].strip() for part in out.splitlines()) if p.startswith("/")]
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        tar.add(exe, arcname="usr/bin/docker-registry")
        for lib in libs:
            tar.add(os.path.realpath(lib), arcname=lib.lstrip("/"))
        cfg = b"version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: /var/lib/registry\nhttp:\n  addr: :5000\n"
        info = tarfile.TarInfo("etc/docker/registry/config.yml")
        info.size = len(cfg)
        tar.addfile(info, io.BytesIO(cfg))
        for d in ("var/lib/registry", "tmp"):
            info = tarfile.TarInfo(d)
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(info)
    return buf.getvalue()
