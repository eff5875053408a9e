"""Benchmark 9: one lookup serves the team (issue 24). At 50 ms behind the Hub-like proxy (tokens, pull accounting;
tests/support/hubproxy.py), a teammate's cold run with the verdict file another run wrote, against the plain cold
run, in the same benchmark run; the same for `--deep`; and `--offline` with the verdicts. Each figure is the
median of `repeat` runs; each run starts from an empty cache. The proxy's counts say what went over the wire."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from benchmarks.common import refs_yaml
from benchmarks.harness import Figure
from benchmarks.latency import Phase, _conns, _kdoctor, _median
from tests.support.hubproxy import HubProxy


def bench_verdicts(upstream: str, refs: list[str], work: Path, rtt: float = 0.05, repeat: int = 3) -> list[Figure]:
    proxy = HubProxy(upstream, pulls_limit=1_000_000)
    proxy.start()
    try:
        via = [f"{proxy.host}/{r.partition('/')[2]}" for r in refs]
        refs_file = refs_yaml(via, work / "verdict-refs.json")
        phases: dict[str, list[Phase]] = {}
        files = {mode: work / f"team-verdicts{mode}.json" for mode in ("", "-deep")}
        for mode, extra in (("", []), ("-deep", ["--deep"])):  # the writers: another teammate's runs
            shutil.rmtree(work / "writer", ignore_errors=True)
            proxy.reset(rtt=rtt, multi_scope=True)
            _kdoctor(refs_file, work / "writer", proxy, [*extra, "--write-verdicts", str(files[mode])])
        cases = {
            "cold": [],
            "cold, verdicts": ["--verdicts", str(files[""])],
            "cold, verdicts, --max-age 3600": ["--verdicts", str(files[""]), "--max-age", "3600"],
            "cold --deep": ["--deep"],
            "cold --deep, verdicts": ["--deep", "--verdicts", str(files["-deep"])],
            "--offline, verdicts": ["--offline", "--verdicts", str(files[""])],
        }
        for _ in range(repeat):  # the cases in turn, so a slow spell of the machine hits all of them
            for label, extra in cases.items():
                cache = work / "teammate"
                shutil.rmtree(cache, ignore_errors=True)
                proxy.reset(rtt=rtt, multi_scope=True)
                phases.setdefault(label, []).append(_kdoctor(refs_file, cache, proxy, extra))
    finally:
        proxy.stop()
    got = {label: _median(runs) for label, runs in phases.items()}
    n = len(refs)
    size = files[""].stat().st_size >> 10
    print(f"\n### 9. team verdicts, {n} references at {rtt * 1000:.0f} ms (median of {repeat}; file {size} KiB)\n")
    print("| case | time | on the wire | verdicts |\n|---|---|---|---|")
    for label, p in got.items():
        print(f"| {label} | {p.seconds:.2f} s | {_conns(p)} | {json.dumps(p.verdicts)} |")
    cold, deep = got["cold"].seconds, got["cold --deep"].seconds
    shared, shared_deep = got["cold, verdicts"], got["cold --deep, verdicts"]
    offline = got["--offline, verdicts"]
    label = f"{rtt * 1000:.0f} ms, {n} refs"
    return [
        Figure(f"9. plain cold ({label})", f"{cold:.2f}s", "-", None, "baseline", None),
        Figure(
            f"9. teammate cold with verdicts ({label})",
            f"{shared.seconds:.2f}s; {shared.counts.get('GET manifest', 0)} manifest GETs",
            "plain cold",
            shared.seconds / cold,
            "<= 0.3x, no manifest GET",
            shared.seconds <= 0.3 * cold and shared.counts.get("GET manifest", 0) == 0,
        ),
        Figure(
            f"9. teammate with verdicts, --max-age ({label})",
            f"{got['cold, verdicts, --max-age 3600'].seconds:.2f}s; "
            f"{sum(got['cold, verdicts, --max-age 3600'].counts.values())} proxy events",
            "plain cold",
            got["cold, verdicts, --max-age 3600"].seconds / cold,
            "nothing sent",
            sum(got["cold, verdicts, --max-age 3600"].counts.values()) == 0,
        ),
        Figure(f"9. plain cold --deep ({label})", f"{deep:.2f}s", "-", None, "baseline", None),
        Figure(
            f"9. teammate cold --deep with verdicts ({label})",
            f"{shared_deep.seconds:.2f}s",
            "plain cold --deep",
            shared_deep.seconds / deep,
            "<= 0.2x",
            shared_deep.seconds <= 0.2 * deep,
        ),
        Figure(
            f"9. --offline with verdicts ({label})",
            f"{offline.seconds:.2f}s; {sum(offline.counts.values())} proxy events",
            "plain cold",
            offline.seconds / cold,
            "nothing sent",
            sum(offline.counts.values()) == 0,
        ),
    ]
