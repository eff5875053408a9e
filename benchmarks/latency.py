"""Benchmark 7: kdoctor images at real network distances, against a floor measured in the same run.

The real registry sits behind tests/support/hubproxy.py (Docker Hub-style 401 challenges, a token service on its
own port, pull accounting with RateLimit headers), which adds a round-trip time (RTT) to every answer and
one more to the first answer of each new connection (the handshake). Per RTT:
  floor     one token GET + one manifest GET per reference over 16 keep-alive connections, the realm known
            in advance (benchmarks/floor_client.py, its own process)
  cold      kdoctor with an empty cache; the token service grants one scope per token (as most do)
  cold, n   the same where the token service honours several `scope` parameters per request
  warm      kdoctor again on the cache the "cold, n" run left (tags, digests and tokens)
  warm floor  one HEAD per reference with a token already held (one per 20 repositories, as the warm run
            holds them), over kdoctor's default number of connections (floor_client.py with a token file):
            what any client revalidating every tag pays
Every kdoctor figure is the wall time of the whole process (start-up, parsing, verdicts, JSON included); each
figure is the median of 3 runs (the five phases run in turn, 3 times per RTT), and a ratio is of two medians.
"""

from __future__ import annotations

import http.client
import json
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.common import refs_yaml
from benchmarks.harness import Figure
from kdoctor.images import DEFAULT_CONCURRENCY
from kdoctor.images.registry.negotiate import BATCH
from tests.support.hubproxy import HubProxy

PY = sys.executable


@dataclass
class Phase:
    seconds: float
    counts: dict[str, int]  # the proxy's
    verdicts: dict[str, int]
    requests: dict[str, int] = field(default_factory=dict)  # kdoctor's own count (its JSON `requests`)


def _kdoctor(refs_file: Path, cache: Path, proxy: HubProxy, extra: list[str]) -> Phase:
    argv = [PY, "-m", "kdoctor", "images", "-f", str(refs_file), "--platform", "linux/arm64", "--emulator", "qemu"]
    argv += ["--no-suggest", "-o", "json", *extra]
    env = {"KDOCTOR_CACHE_DIR": str(cache), "DOCKER_CONFIG": str(cache.parent / "no-docker"), "PATH": "/usr/bin:/bin"}
    t0 = time.perf_counter()
    res = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=900)
    took = time.perf_counter() - t0
    if res.returncode not in (0, 1, 3):
        raise RuntimeError(f"kdoctor images exited {res.returncode}: {res.stderr[-400:]}")
    doc = json.loads(res.stdout)
    return Phase(took, dict(proxy.counts), {k: v for k, v in doc["summary"].items() if v}, doc["requests"])


def _floor(plain: Path, proxy: HubProxy, token_file: Path | None = None) -> Phase:
    conns = "16" if token_file is None else str(DEFAULT_CONCURRENCY)
    extra = [] if token_file is None else [str(token_file)]
    t0 = time.perf_counter()
    res = subprocess.run(
        [PY, str(Path(__file__).parent / "floor_client.py"), str(plain), proxy.realm, conns, *extra],
        capture_output=True,
        text=True,
        timeout=900,
    )
    took = time.perf_counter() - t0
    if res.returncode != 0:
        raise RuntimeError(f"the floor client failed: {res.stdout[-200:]} {res.stderr[-400:]}")
    return Phase(took, dict(proxy.counts), {})


def _token(proxy: HubProxy, refs: list[str]) -> str:
    """One token from the proxy's token service granting the references' repositories (asked for outside any
    timed phase)."""
    scopes = "&".join(f"scope=repository:{_repo(r)}:pull" for r in refs)
    tok = http.client.HTTPConnection(proxy.token_host)
    tok.request("GET", f"/token?service=bench.registry&{scopes}")
    token = str(json.loads(tok.getresponse().read())["token"])
    tok.close()
    return token


def _repo(ref: str) -> str:
    return ref.partition("/")[2].rpartition(":")[0]


def _held_tokens(proxy: HubProxy, refs: list[str]) -> dict[str, str]:
    """The tokens a warm run holds: one per BATCH repositories, as kdoctor asks for them where the token
    service honours several scopes. (One token for all 500 would be a 48 KB header that the proxy reads,
    decodes and verifies on every HEAD: a floor slower than the run it bounds.)"""
    held: dict[str, str] = {}
    for i in range(0, len(refs), BATCH):
        chunk = refs[i : i + BATCH]
        token = _token(proxy, chunk)
        held.update((_repo(r), token) for r in chunk)
    return held


def proxy_overhead(proxy: HubProxy, upstream: str, ref: str, n: int) -> float:
    """Milliseconds the proxy adds per request at RTT 0 (sequential keep-alive GETs, direct vs through it).
    Measured in this process, so it includes GIL contention with the client: an upper bound."""
    _, _, rest = ref.partition("/")
    repo, _, tag = rest.rpartition(":")
    token = _token(proxy, [ref])
    hdrs = {"Accept": "application/vnd.oci.image.index.v1+json", "Authorization": f"Bearer {token}"}
    best = {upstream: float("inf"), proxy.host: float("inf")}
    for _ in range(3):  # interleaved, best of three: start-up effects and noise from other processes
        for target in best:
            conn = http.client.HTTPConnection(target)
            t0 = time.perf_counter()
            for _ in range(n):
                conn.request("GET", f"/v2/{repo}/manifests/{tag}", headers=hdrs)
                conn.getresponse().read()
            best[target] = min(best[target], time.perf_counter() - t0)
            conn.close()
    return (best[proxy.host] - best[upstream]) / n * 1000


def _conns(p: Phase) -> str:
    c = p.counts
    return (
        f"{c.get('new conn registry', 0)}+{c.get('new conn token', 0)} conns, {c.get('401', 0)}x401, "
        f"{c.get('token requests', 0)} token, {c.get('GET manifest', 0)} GET, {c.get('HEAD manifest', 0)} HEAD"
    )


QUOTA_CASES = [
    ("default (half of what is left)", {}, []),
    (
        "a 429 mid-run: others pull too, Retry-After 2, --max-pulls 100",
        {"others_per_get": 1, "retry_after": "2"},
        ["--max-pulls", "100"],
    ),
]


def bench_quota(proxy: HubProxy, refs: list[str], work: Path, extra: tuple[str, ...]) -> list[Figure]:
    """10 pulls left, 100 references, at 50 ms: what kdoctor spends, and that nothing follows a 429."""
    refs_file = refs_yaml(refs, work / "quota-refs.json")
    print(f"\n### 7. pull quota: 10 of 100 pulls left, {len(refs)} references, RTT 50 ms\n")
    print("| case | time | manifest GETs | 429s | GETs after the first 429 | verdicts |\n|---|---|---|---|---|---|")
    rows: list[Figure] = []
    for label, settings, flags in QUOTA_CASES:
        cache = work / f"quota-cache-{len(rows)}"
        shutil.rmtree(cache, ignore_errors=True)
        proxy.reset(rtt=0.05, multi_scope=True, pulls_limit=100, pulls_used=90, others_per_get=0, retry_after=None)
        proxy.reset(rtt=0.05, pulls_limit=100, pulls_used=90, **settings)
        p = _kdoctor(refs_file, cache, proxy, [*extra, *flags])
        c = p.counts
        print(
            f"| {label} | {p.seconds:.2f} s | {c.get('GET manifest', 0)} | {c.get('429', 0)} "
            f"| {c.get('GET after 429', 0)} | {json.dumps(p.verdicts)} |"
        )
        after = c.get("GET after 429", 0)
        rows.append(
            Figure(
                f"7. quota, {label}",
                f"{p.seconds:.2f}s, {after} GETs after a 429",
                "-",
                None,
                "0, seconds",
                after == 0 and p.seconds < 5,
            )
        )
    proxy.reset(pulls_limit=1_000_000, others_per_get=0, retry_after=None)
    return rows


def _median(phases: list[Phase]) -> Phase:
    """The run with the median wall time (its request counts with it)."""
    return sorted(phases, key=lambda p: p.seconds)[len(phases) // 2]


def bench_latency(
    upstream: str,
    refs: list[str],
    work: Path,
    rtts: list[float],
    extra: tuple[str, ...] = (),
    repeat: int = 3,
) -> list[Figure]:
    """The table per RTT (printed) and the figures at 50 ms for run.py, each the median of `repeat` runs;
    `extra`: kdoctor flags to compare."""
    proxy = HubProxy(upstream, pulls_limit=1_000_000)
    proxy.start()
    try:
        via = [f"{proxy.host}/{r.partition('/')[2]}" for r in refs]
        plain = work / "latency-refs.txt"
        plain.write_text("\n".join(via))
        refs_file = refs_yaml(via, work / "latency-refs.json")
        overhead = proxy_overhead(proxy, upstream, refs[0], 200)
        proxy.reset(rtt=0.0, multi_scope=True)
        token_file = work / "latency-tokens.json"  # the warm floor's, asked for at RTT 0
        token_file.write_text(json.dumps(_held_tokens(proxy, via)))
        rows: list[tuple[float, Phase, Phase, Phase, Phase, Phase]] = []
        t_all = time.perf_counter()
        for rtt in rtts:
            reps: list[tuple[Phase, Phase, Phase, Phase, Phase]] = []
            for _ in range(repeat):  # the five phases in turn, so a slow spell of the machine hits all of them
                proxy.reset(rtt=rtt, multi_scope=False)
                floor = _floor(plain, proxy)
                cache1, cache2 = work / f"lat-cache-{rtt}-1", work / f"lat-cache-{rtt}-n"
                for c in (cache1, cache2):
                    shutil.rmtree(c, ignore_errors=True)
                proxy.reset()
                cold = _kdoctor(refs_file, cache1, proxy, list(extra))
                proxy.reset(multi_scope=True)
                cold_n = _kdoctor(refs_file, cache2, proxy, list(extra))
                proxy.reset()
                warm = _kdoctor(refs_file, cache2, proxy, list(extra))
                proxy.reset()
                warm_floor = _floor(plain, proxy, token_file)
                reps.append((floor, cold, cold_n, warm, warm_floor))
            floor, cold, cold_n, warm, warm_floor = (_median([r[i] for r in reps]) for i in range(5))
            rows.append((rtt, floor, cold, cold_n, warm, warm_floor))
            print(f"latency: RTT {rtt * 1000:.0f} ms done", file=sys.stderr)
        took = time.perf_counter() - t_all
        quota = bench_quota(proxy, via[:100], work, extra)
    finally:
        proxy.stop()
    n = len(refs)
    print(f"\n### 7. latency, {n} distinct multi-arch repositories (median of {repeat} runs per figure)\n")
    print(f"proxy overhead: {overhead:.2f} ms per request at RTT 0 (upper bound); all RTTs took {took:.0f}s\n")
    print(
        "| RTT | floor | kdoctor cold | ratio | cold, several scopes per token | ratio | kdoctor warm | warm/cold "
        "| warm floor | warm/warm floor |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for rtt, floor, cold, cold_n, warm, warm_floor in rows:
        f = floor.seconds
        print(
            f"| {rtt * 1000:.0f} ms | {f:.2f} s | {cold.seconds:.2f} s | {cold.seconds / f:.2f}x "
            f"| {cold_n.seconds:.2f} s | {cold_n.seconds / f:.2f}x | {warm.seconds:.2f} s "
            f"| {warm.seconds / cold.seconds:.2f}x | {warm_floor.seconds:.2f} s "
            f"| {warm.seconds / warm_floor.seconds:.2f}x |"
        )
    print("\n| RTT | floor | cold | cold, several scopes | warm | warm floor |\n|---|---|---|---|---|---|")
    for rtt, *phases in rows:
        print(f"| {rtt * 1000:.0f} ms | " + " | ".join(_conns(p) for p in phases) + " |")
    verdicts = {json.dumps(p.verdicts) for row in rows for p in row[2:5]}
    print(f"\nverdicts: {' / '.join(sorted(verdicts))}")
    figs: list[Figure] = list(quota)
    at = min(rows, key=lambda r: abs(r[0] - 0.05))
    rtt, floor, cold, cold_n, warm, warm_floor = at
    label = f"{rtt * 1000:.0f} ms, {n} refs"
    r1, rn, rw = cold.seconds / floor.seconds, cold_n.seconds / floor.seconds, warm.seconds / cold.seconds
    figs.append(Figure(f"7. latency floor ({label})", f"{floor.seconds:.2f}s", "-", None, "baseline", None))
    figs.append(Figure(f"7. latency cold ({label})", f"{cold.seconds:.2f}s", "floor", r1, "<= 1.2x floor", r1 <= 1.2))
    figs.append(
        Figure(
            f"7. latency cold, several scopes ({label})",
            f"{cold_n.seconds:.2f}s",
            "floor",
            rn,
            "<= 0.8x floor",
            rn <= 0.8,
        )
    )
    figs.append(Figure(f"7. latency warm ({label})", f"{warm.seconds:.2f}s", "cold", rw, "<= 0.5x cold", rw <= 0.5))
    figs.append(
        Figure(
            f"7. latency warm floor ({label}, {DEFAULT_CONCURRENCY} conns)",
            f"{warm_floor.seconds:.2f}s",
            "cold",
            warm_floor.seconds / cold.seconds,
            "-",
            None,
        )
    )
    figs.append(Figure("7. latency proxy overhead", f"{overhead:.2f} ms/request", "-", None, "small", None))
    return figs
