"""Benchmark 8: what `--deep` costs, on loopback and at 50 ms behind the Hub-like proxy."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from benchmarks.common import refs_yaml
from benchmarks.fixtures import images_cmd
from benchmarks.harness import Figure, fmt, measure, run
from benchmarks.latency import Phase, _kdoctor, _median
from tests.support.hubproxy import HubProxy


def bench_deep(refs: list[str], work: Path, runs: int) -> list[Figure]:
    """8. What `--deep` costs: multi-arch references whose arm64 entries are distinct images (one layer with a
    static Go binary), default against --deep, cold (empty cache) and warm (second run), on loopback."""
    yml = refs_yaml(refs, work / "refs-deep.json")
    n = len(refs)
    figs: list[Figure] = []
    results: dict[tuple[str, str], tuple[float, float, float]] = {}
    counts: dict[tuple[str, str], dict[str, int]] = {}
    for mode, extra in (("default", []), ("--deep", ["--deep"])):
        cache = work / f"cache-deep-{mode.strip('-')}"

        def cold(cache: Path = cache, extra: list[str] = extra, mode: str = mode) -> None:
            shutil.rmtree(cache, ignore_errors=True)
            argv, env = images_cmd(yml, cache, extra)
            counts[(mode, "cold")] = json.loads(run(argv, env).stdout)["requests"]

        results[(mode, "cold")] = measure(cold, runs)
        argv, env = images_cmd(yml, cache, extra)
        run(argv, env)

        def warm(argv: list[str] = argv, env: dict[str, str] = env, mode: str = mode) -> None:
            counts[(mode, "warm")] = json.loads(run(argv, env).stdout)["requests"]

        results[(mode, "warm")] = measure(warm, runs)
    for phase in ("cold", "warm"):
        base, deep = results[("default", phase)], results[("--deep", phase)]
        figs.append(Figure(f"8. {phase}, default ({n} refs)", fmt(base), "-", None, "baseline", None))
        figs.append(
            Figure(
                f"8. {phase}, --deep ({n} refs)",
                f"{fmt(deep)}; requests {json.dumps(counts[('--deep', phase)])}",
                f"{phase} default",
                deep[0] / base[0],
                "cost stated in --help/README" if phase == "cold" else "<= 1.1x default",
                None if phase == "cold" else deep[0] <= base[0] * 1.1,
            )
        )
    return figs


def bench_deep_at(upstream: str, refs: list[str], work: Path, rtt: float = 0.05, repeat: int = 3) -> list[Figure]:
    """8 at a real distance: default against --deep behind the Hub-like proxy (several scopes per token), cold
    (empty cache) and warm (second run), each the median of `repeat` runs."""
    proxy = HubProxy(upstream, pulls_limit=1_000_000)
    proxy.start()
    try:
        proxy.reset(rtt=rtt, multi_scope=True)
        via = [f"{proxy.host}/{r.partition('/')[2]}" for r in refs]
        refs_file = refs_yaml(via, work / "deep-latency-refs.json")
        runs: dict[tuple[str, str], list[Phase]] = {}
        for i in range(repeat):
            for mode, extra in (("default", []), ("--deep", ["--deep"])):
                cache = work / f"deep-lat-{mode.strip('-')}-{i}"
                shutil.rmtree(cache, ignore_errors=True)
                for phase in ("cold", "warm"):
                    proxy.reset()
                    runs.setdefault((mode, phase), []).append(_kdoctor(refs_file, cache, proxy, extra))
    finally:
        proxy.stop()
    label = f"{rtt * 1000:.0f} ms, {len(refs)} refs"
    rows: list[Figure] = []
    for phase in ("cold", "warm"):
        base, deep = _median(runs[("default", phase)]), _median(runs[("--deep", phase)])
        rows.append(Figure(f"8. {phase} at {label}, default", f"{base.seconds:.2f}s", "-", None, "baseline", None))
        rows.append(
            Figure(
                f"8. {phase} at {label}, --deep",
                f"{deep.seconds:.2f}s; requests {json.dumps(deep.requests)}",
                f"{phase} default",
                deep.seconds / base.seconds,
                "-",
                None,
            )
        )
    return rows
