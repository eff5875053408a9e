"""kdoctor benchmarks: every figure next to a baseline measured in the same run, as a ratio.

    python -m benchmarks.run            # the full run (README "Performance"); a few minutes
    python -m benchmarks.run --quick    # tiny sizes, 2 runs: proves the harness still works (the tests run it)
    python -m benchmarks.run --latency  # only benchmark 7: 500 refs at RTT 0/20/50/100 ms behind a Hub-like proxy

Run from the repository root, as a module, so that `benchmarks` and `tests.support` import without path edits.

Sets up its own fixtures: the real registry server (Debian's docker-registry) on loopback with images
assembled from real Go binaries, as the tests do. Exits non-zero only when it could not run; a missed
target is printed, never fatal.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks import big_layers, deep, diagnose, latency, lookup, scale, startup, verdicts
from benchmarks.common import push_multiarch_repos
from benchmarks.fixtures import big_layer_images
from benchmarks.harness import Figure
from tests.support.imagebuilder import Pusher
from tests.support.realparts import RegistryServer, build_binaries, start_registry


@dataclass
class Setup:
    """What one run of the benchmarks shares: the registry, the binaries, sizes, and the references pushed once."""

    reg: RegistryServer
    pusher: Pusher
    bins: dict[str, bytes]
    work: Path
    quick: bool
    runs: int
    n_refs: int
    skopeo_n: int
    big_mb: int
    scale_n: int
    rtts: list[float]
    _refs: list[str] = field(default_factory=list)

    @property
    def refs(self) -> list[str]:
        if not self._refs:
            self._refs = push_multiarch_repos(self.pusher, self.bins, self.n_refs)
        return self._refs


def _lookup(s: Setup) -> list[Figure]:
    return lookup.bench_lookup(s.reg, s.refs, s.work, s.runs, s.skopeo_n)


def _big_layers(s: Setup) -> list[Figure]:
    top, bottom, files = big_layer_images(s.pusher, s.bins, s.big_mb, s.work)
    return big_layers.bench_big_layers(s.reg, top, bottom, files, s.work, s.runs, s.big_mb)


def _latency(s: Setup) -> list[Figure]:
    return latency.bench_latency(
        s.reg.host, s.refs[: 20 if s.quick else 500], s.work, s.rtts, repeat=1 if s.quick else 3
    )


def _deep(s: Setup) -> list[Figure]:
    refs = push_multiarch_repos(s.pusher, s.bins, s.n_refs, prefix="bench/deep", distinct=True)
    return deep.bench_deep(refs, s.work, s.runs) + deep.bench_deep_at(
        s.reg.host, refs, s.work, repeat=1 if s.quick else 3
    )


def _verdicts(s: Setup) -> list[Figure]:
    return verdicts.bench_verdicts(s.reg.host, s.refs[: 20 if s.quick else 500], s.work, repeat=1 if s.quick else 3)


# README "Performance" numbers its sections by these keys; 1 and 2 are one benchmark (cold, then warm).
BENCHMARKS: dict[str, Callable[[Setup], list[Figure]]] = {
    "1": _lookup,
    "2": _lookup,
    "3": _big_layers,
    "4": lambda s: diagnose.bench_diagnose(s.work, s.runs, 0.5),
    "5": lambda s: startup.bench_startup(s.runs if s.quick else 10),
    "6": lambda s: scale.bench_scale(s.refs, s.work, s.runs, s.scale_n),
    "7": _latency,
    "8": _deep,
    "9": _verdicts,
}


def print_table(figs: list[Figure]) -> None:
    print()
    print("| benchmark | figure | baseline | ratio | target | met |")
    print("|---|---|---|---|---|---|")
    for f in figs:
        ratio = f"{f.ratio:.2f}" if f.ratio is not None else "-"
        met = "-" if f.met is None else ("yes" if f.met else "**no**")
        print(f"| {f.name} | {f.value} | {f.baseline} | {ratio} | {f.target} | {met} |")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="tiny sizes and 2 runs: proves the harness works")
    ap.add_argument("--only", action="append", help="run only benchmarks whose number is given (1-9)")
    ap.add_argument("--latency", action="store_true", help="only benchmark 7 (network distances), full size")
    opts = ap.parse_args()
    quick = opts.quick
    runs = 2 if quick else 5
    n_refs, skopeo_n, big_mb, scale_n = (40, 10, 20, 200) if quick else (500, 500, 500, 5000)
    only = {"7"} if opts.latency else set(opts.only or BENCHMARKS)
    if only - BENCHMARKS.keys():
        ap.error(f"no benchmark {', '.join(sorted(only - BENCHMARKS.keys()))}; they are {', '.join(BENCHMARKS)}")
    # Benchmark 7: the median of 3 runs per figure (one in quick runs); quick: 20 refs, 2 RTTs.
    rtts = [0.0, 0.02] if quick else [0.0, 0.02, 0.05, 0.1]
    work = Path(tempfile.mkdtemp(prefix="kdoctor-bench-"))
    reg = None
    figs: list[Figure] = []
    t_start = time.monotonic()
    try:
        reg = start_registry(work / "registry")
        bins = build_binaries(work / "bins")
        print(f"registry on {reg.host}; pushing fixtures ...", file=sys.stderr)
        setup = Setup(reg, Pusher(reg.host), bins, work, quick, runs, n_refs, skopeo_n, big_mb, scale_n, rtts)
        done: set[Callable[[Setup], list[Figure]]] = set()
        for key in sorted(only):
            bench = BENCHMARKS[key]
            if bench not in done:
                done.add(bench)
                figs += bench(setup)
    except Exception as exc:  # could not run: the only reason to exit non-zero
        print(f"benchmarks could not run: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    finally:
        if reg is not None:
            reg.stop()
        shutil.rmtree(work, ignore_errors=True)
    print_table(figs)
    print(
        f"\n{'quick' if quick else 'full'} run, {runs} runs per figure after a warm-up, "
        f"{time.monotonic() - t_start:.0f}s in all; python {sys.version.split()[0]}, {os.cpu_count()} CPUs"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
