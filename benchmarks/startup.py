"""Benchmark 5: start-up of `kdoctor --version` and `--help` against bare Python."""

from __future__ import annotations

from benchmarks.harness import KDOCTOR, PY, Figure, fmt, measure, run


def bench_startup(runs: int) -> list[Figure]:
    bare = measure(lambda: run([PY, "-c", "pass"]), runs)
    figs = [Figure("python3 -c pass", fmt(bare), "-", None, "baseline", None)]
    for args in (["--version"], ["--help"]):
        t = measure(lambda args=args: run([*KDOCTOR, *args]), runs)
        ratio = t[0] / bare[0]
        figs.append(Figure(f"5. kdoctor {args[0]}", fmt(t), "python3 -c pass", ratio, "<= 5x", ratio <= 5))
    return figs
