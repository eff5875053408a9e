"""Benchmark 3: the Go entrypoint in the top layer of an image with big layers, against `gzip -dc` of the layers."""

from __future__ import annotations

import subprocess
from pathlib import Path

from benchmarks.harness import KDOCTOR, Figure, fmt, measure, peak_rss_mb, run
from tests.support.realparts import RegistryServer


def bench_big_layers(
    reg: RegistryServer, top: str, bottom: str, files: list[Path], work: Path, runs: int, total_mb: int
) -> list[Figure]:
    def gunzip() -> None:
        for f in files:
            subprocess.run(["gzip", "-dc", str(f)], stdout=subprocess.DEVNULL, check=True)

    base = measure(gunzip, runs)
    figs = [Figure(f"gzip -dc of the layers ({total_mb} MB)", fmt(base), "-", None, "baseline", None)]
    for ref, label, target, limit in (
        (bottom, "in the bottom layer (read last)", "<= 1.3x gzip -dc", 1.3),
        (top, "in the top layer (early stop)", "far less than gzip -dc", 0.2),
    ):
        argv = [
            *KDOCTOR,
            "images",
            ref,
            "--platform",
            "linux/arm64",
            "--emulator",
            "qemu",
            "--no-suggest",
            "--no-cache",
            "-o",
            "json",
        ]
        env = {"DOCKER_CONFIG": str(work / "no-docker")}
        t = measure(lambda argv=argv, env=env: run(argv, env), runs)
        ratio = t[0] / base[0]
        figs.append(Figure(f"3. Go entrypoint {label}", fmt(t), "gzip -dc", ratio, target, ratio <= limit))
        rss = peak_rss_mb(argv, env)
        figs.append(Figure(f"3. peak RSS, {label}", f"{rss:.0f} MB", "-", None, "< 150 MB", rss < 150))
    return figs
