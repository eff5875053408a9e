"""The benchmarks' one harness: a Figure (one row of the printed table), timing, and running commands."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

GNU_TIME = shutil.which("time") or "/usr/bin/time"  # GNU time, for peak memory (-f %M)
PY = sys.executable
KDOCTOR = [PY, "-m", "kdoctor"]
REPO = Path(__file__).resolve().parent.parent


@dataclass
class Figure:
    name: str
    value: str
    baseline: str
    ratio: float | None
    target: str
    met: bool | None


def measure(fn: Callable[[], object], runs: int, warmup: int = 1) -> tuple[float, float, float]:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), min(times), max(times)


def fmt(t: tuple[float, float, float]) -> str:
    med, lo, hi = t
    return f"{med:.3f}s (min {lo:.3f}, max {hi:.3f})"


def run(argv: list[str], env: dict[str, str] | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    res = subprocess.run(argv, capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=1800)
    if check and res.returncode not in (0, 1, 3):
        raise RuntimeError(f"{argv[:4]} exited {res.returncode}: {res.stderr[-400:]}")
    return res


def peak_rss_mb(argv: list[str], env: dict[str, str]) -> float:
    res = subprocess.run([GNU_TIME, "-f", "%M", *argv], capture_output=True, text=True, env={**os.environ, **env})
    return int(res.stderr.strip().splitlines()[-1]) / 1024


# -- fixtures ----------------------------------------------------------------------------------------
