"""Benchmark 6: thousands of references (one repository each) and the peak memory of the run."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from benchmarks.common import refs_yaml
from benchmarks.fixtures import images_cmd
from benchmarks.harness import Figure, fmt, measure, peak_rss_mb, run


def bench_scale(refs: list[str], work: Path, runs: int, big_n: int) -> list[Figure]:
    small = refs_yaml(refs, work / "scale-small.json")
    many = [refs[i % len(refs)] for i in range(big_n)]
    # Repeated references with distinct args are distinct uses: each is judged, as a cluster's pods are.
    big = work / "scale-big.json"
    docs = [
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": f"p{i}"},
            "spec": {"containers": [{"name": "c", "image": r, "args": [str(i % 7)]}]},
        }
        for i, r in enumerate(many)
    ]
    big.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": docs}))
    figs = []
    results = {}
    for label, f in ((f"{len(refs)} refs", small), (f"{big_n} refs (repeated)", big)):
        cache = work / f"cache-scale-{label[:4].strip()}"
        shutil.rmtree(cache, ignore_errors=True)
        argv, env = images_cmd(f, cache, ["--no-cache"])
        t = measure(lambda argv=argv, env=env: run(argv, env), runs)
        rss = peak_rss_mb(argv, env)
        results[label] = (t, rss)
        figs.append(Figure(f"6. scale, {label}", f"{fmt(t)}, peak RSS {rss:.0f} MB", "-", None, "-", None))
    (t1, r1), (t2, r2) = results.values()
    growth = big_n / len(refs)
    figs.append(
        Figure(
            "6. scale, time growth",
            f"{t2[0] / t1[0]:.2f}x for {growth:.0f}x refs",
            "-",
            t2[0] / t1[0],
            "<= linear",
            t2[0] / t1[0] <= growth,
        )
    )
    figs.append(Figure("6. scale, RSS growth", f"{r2 / r1:.2f}x", "-", r2 / r1, "<= linear", r2 / r1 <= growth))
    return figs
