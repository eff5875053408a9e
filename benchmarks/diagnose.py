"""Benchmark 4: `kdoctor diagnose` on a fake Mac whose tools each answer after a fixed delay (probes run at once)."""

from __future__ import annotations

import json
import shutil
import statistics
from pathlib import Path

from benchmarks.harness import KDOCTOR, PY, REPO, Figure, fmt, measure, run


def bench_diagnose(work: Path, runs: int, delay: float) -> list[Figure]:
    fakes = REPO / "tests" / "fakes"
    data = REPO / "tests" / "data"
    bindir = work / "fakebin"
    bindir.mkdir(exist_ok=True)
    for tool in ("minikube", "kind", "kubectl", "docker", "uname", "sysctl", "sw_vers"):
        link = bindir / tool
        if not link.exists():
            link.symlink_to(fakes / tool)
    if not (bindir / "python3").exists():
        (bindir / "python3").symlink_to(PY)
    home = work / "home"
    (home / ".minikube/profiles/dev").mkdir(parents=True, exist_ok=True)
    shutil.copy(data / "minikube" / "config-dev.json", home / ".minikube/profiles/dev/config.json")
    env = {
        "PATH": str(bindir),
        "HOME": str(home),
        "FAKE_STATE": str(work / "fakestate"),
        "FAKE_DELAY": str(delay),
        "FAKE_DELAY_TOOLS": "minikube,kind,kubectl,docker",
        "FAKE_DOCKER_INFO": str(data / "docker" / "info-docker-desktop-arm64.json"),
        "FAKE_BINFMT": str(data / "binfmt" / "docker-desktop-rosetta.txt"),
        "FAKE_KUBE_DIR": str(data / "kube"),
        "FAKE_SYSCTL_hw_optional_arm64": "1",
        "FAKE_SYSCTL_sysctl_proc_translated": "0",
    }
    env.pop("FAKE_LOG", None)
    slowest: list[float] = []

    def diag() -> None:
        doc = json.loads(run([*KDOCTOR, "diagnose", "-o", "json", "--images-budget", "0"], env).stdout)
        slowest.append(max(p["duration_ms"] for p in doc["probes"].values()) / 1000)

    t = measure(diag, runs)
    slow = statistics.median(slowest)
    ratio = t[0] / slow
    return [
        Figure(
            f"4. diagnose, each fake answers in {delay}s",
            fmt(t),
            f"slowest probe {slow:.3f}s",
            ratio,
            "<= 1.3x slowest probe",
            ratio <= 1.3,
        )
    ]
