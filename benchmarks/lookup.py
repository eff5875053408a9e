"""Benchmarks 1 and 2: a cold lookup of 500 references against a one-GET-per-reference client and a skopeo loop, and
the warm run from the cache (README Performance 1, 2)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from benchmarks.common import refs_yaml
from benchmarks.fixtures import images_cmd
from benchmarks.harness import PY, Figure, fmt, measure, run
from tests.support.realparts import RegistryServer


def bench_lookup(reg: RegistryServer, refs: list[str], work: Path, runs: int, skopeo_n: int) -> list[Figure]:
    figs: list[Figure] = []
    plain = work / "refs.txt"
    plain.write_text("\n".join(refs))
    yml = refs_yaml(refs, work / "refs.json")
    limit = measure(lambda: run([PY, str(Path(__file__).parent / "limit_client.py"), str(plain)]), runs)

    cold_counts: dict[str, int] = {}

    def cold() -> None:
        cache = work / "cache-cold"
        shutil.rmtree(cache, ignore_errors=True)
        argv, env = images_cmd(yml, cache)
        doc = json.loads(run(argv, env).stdout)
        cold_counts.clear()
        cold_counts.update(doc["requests"])

    kd_cold = measure(cold, runs)
    sample = refs[:skopeo_n]
    skopeo = shutil.which("skopeo")
    if skopeo:

        def loop() -> None:
            for r in sample:
                run([skopeo, "inspect", "--raw", "--tls-verify=false", f"docker://{r}"])

        sk = measure(loop, max(1, runs // 2) if len(sample) > 100 else runs, warmup=1)
        per_ref = sk[0] / len(sample)
        sk_total = per_ref * len(refs)
        figs.append(
            Figure(
                f"skopeo inspect --raw loop ({len(sample)} refs{', scaled' if len(sample) < len(refs) else ''})",
                f"{sk_total:.3f}s ({per_ref * 1000:.1f} ms/ref)",
                "-",
                None,
                "reference",
                None,
            )
        )
    n = len(refs)
    figs.append(Figure(f"limit: 1 GET/ref, 16 conns ({n} refs)", fmt(limit), "-", None, "baseline", None))
    ratio = kd_cold[0] / limit[0]
    figs.append(
        Figure(f"1. lookup cold, kdoctor ({n} refs)", fmt(kd_cold), "limit", ratio, "<= 1.5x limit", ratio <= 1.5)
    )
    if skopeo:
        speedup = sk_total / kd_cold[0]
        figs.append(
            Figure(
                "1. lookup cold, kdoctor vs skopeo loop",
                f"{speedup:.1f}x faster",
                "skopeo",
                1 / speedup,
                ">= 10x faster",
                speedup >= 10,
            )
        )
    gets = cold_counts.get("GET manifest", 0)
    figs.append(
        Figure(
            "1. cold requests",
            f"{sum(cold_counts.values())} total ({json.dumps(cold_counts)})",
            f"{n} refs",
            sum(cold_counts.values()) / n,
            "1 request/ref",
            gets == n and len(cold_counts) == 1,
        )
    )

    cache = work / "cache-warm"
    shutil.rmtree(cache, ignore_errors=True)
    argv, env = images_cmd(yml, cache)
    run(argv, env)
    warm_counts: dict[str, int] = {}

    def warm() -> None:
        doc = json.loads(run(argv, env).stdout)
        warm_counts.clear()
        warm_counts.update(doc["requests"])

    kd_warm = measure(warm, runs)
    figs.append(
        Figure(
            f"2. lookup warm, kdoctor ({n} refs)",
            fmt(kd_warm),
            "cold",
            kd_warm[0] / kd_cold[0],
            "<= 1.0x cold (+5 %: the run-to-run spread), 0 manifest GETs",
            kd_warm[0] <= kd_cold[0] * 1.05 and warm_counts.get("GET manifest", 0) == 0,
        )
    )
    figs.append(
        Figure(
            "2. warm requests",
            json.dumps(warm_counts),
            "-",
            None,
            "0 GET manifest",
            warm_counts.get("GET manifest", 0) == 0,
        )
    )
    argv_fresh, _ = images_cmd(yml, cache, ["--max-age", "3600"])
    fresh = measure(lambda: run(argv_fresh, env), runs)
    figs.append(
        Figure(f"2. warm within --max-age ({n} refs)", fmt(fresh), "cold", fresh[0] / kd_cold[0], "0 requests", None)
    )
    return figs
