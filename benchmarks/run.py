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
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import push_multiarch_repos, refs_yaml
from benchmarks.harness import Figure, fmt, measure, peak_rss_mb, run
from benchmarks.latency import bench_deep_at, bench_latency
from tests.support.imagebuilder import Pusher
from tests.support.realparts import RegistryServer, build_binaries, start_registry

REPO = Path(__file__).resolve().parent.parent

PY = sys.executable
KDOCTOR = [PY, "-m", "kdoctor"]


def big_layer_images(p: Pusher, bins: dict[str, bytes], total_mb: int, work: Path) -> tuple[str, str, list[Path]]:
    """Two amd64-only images whose Go entrypoint sits under `total_mb` of other layer content: once in the
    top layer (found first), once in the bottom layer (read last)."""
    rnd = os.urandom(1 << 20)
    chunk = b"".join(rnd[i:] + rnd[:i] for i in range(0, 4096 * 16, 4096))  # 16 MiB, barely compressible
    layers, files = [], []
    per = max(1, total_mb // 5)
    for i in range(5):
        data = (chunk * ((per << 20) // len(chunk) + 1))[: per << 20]
        layer = p.layer({f"/data/blob{i}": data})
        layers.append(layer)
        f = work / f"layer{i}.gz"
        f.write_bytes(layer.blob)
        files.append(f)
    go = p.layer({"/usr/local/bin/hello": bins["go-amd64"]})
    top = p.image("bench/big", "top", arch="amd64", layers=[*layers, go], entrypoint=["/usr/local/bin/hello"])
    bottom = p.image("bench/big", "bottom", arch="amd64", layers=[go, *layers], entrypoint=["/usr/local/bin/hello"])
    del top, bottom
    gofile = work / "go.gz"
    gofile.write_bytes(go.blob)
    return f"{p.host}/bench/big:top", f"{p.host}/bench/big:bottom", [*files, gofile]


# -- benchmarks --------------------------------------------------------------------------------------


def images_cmd(refs_file: Path, cache: Path, extra: list[str] = ()) -> tuple[list[str], dict[str, str]]:
    argv = [
        *KDOCTOR,
        "images",
        "-f",
        str(refs_file),
        "--platform",
        "linux/arm64",
        "--emulator",
        "qemu",
        "--no-suggest",
        "-o",
        "json",
        *extra,
    ]
    return argv, {"KDOCTOR_CACHE_DIR": str(cache), "DOCKER_CONFIG": str(cache.parent / "no-docker")}


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


def bench_startup(runs: int) -> list[Figure]:
    bare = measure(lambda: run([PY, "-c", "pass"]), runs)
    figs = [Figure("python3 -c pass", fmt(bare), "-", None, "baseline", None)]
    for args in (["--version"], ["--help"]):
        t = measure(lambda args=args: run([*KDOCTOR, *args]), runs)
        ratio = t[0] / bare[0]
        figs.append(Figure(f"5. kdoctor {args[0]}", fmt(t), "python3 -c pass", ratio, "<= 5x", ratio <= 5))
    return figs


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
    ap.add_argument("--only", action="append", help="run only benchmarks whose number is given (1-8)")
    ap.add_argument("--latency", action="store_true", help="only benchmark 7 (network distances), full size")
    opts = ap.parse_args()
    quick = opts.quick
    runs = 2 if quick else 5
    n_refs, skopeo_n, big_mb, scale_n = (40, 10, 20, 200) if quick else (500, 500, 500, 5000)
    only = {"7"} if opts.latency else set(opts.only or "12345678")
    # Benchmark 7: the median of 3 runs per figure (one in quick runs); quick: 20 refs, 2 RTTs.
    rtts = [0.0, 0.02] if quick else [0.0, 0.02, 0.05, 0.1]
    work = Path(tempfile.mkdtemp(prefix="kdoctor-bench-"))
    reg = None
    figs: list[Figure] = []
    t_start = time.monotonic()
    try:
        reg = start_registry(work / "registry")
        bins = build_binaries(work / "bins")
        pusher = Pusher(reg.host)
        print(f"registry on {reg.host}; pushing fixtures ...", file=sys.stderr)
        refs = push_multiarch_repos(pusher, bins, n_refs) if only & {"1", "2", "6", "7"} else []
        if only & {"1", "2"}:
            figs += bench_lookup(reg, refs, work, runs, skopeo_n)
        if "3" in only:
            top, bottom, files = big_layer_images(pusher, bins, big_mb, work)
            figs += bench_big_layers(reg, top, bottom, files, work, runs, big_mb)
        if "4" in only:
            figs += bench_diagnose(work, runs, 0.5)
        if "5" in only:
            figs += bench_startup(runs if quick else 10)
        if "6" in only:
            figs += bench_scale(refs, work, runs, scale_n)
        if "7" in only:
            figs += [
                row
                for row in bench_latency(reg.host, refs[: 20 if quick else 500], work, rtts, repeat=1 if quick else 3)
            ]
        if "8" in only:
            deep_refs = push_multiarch_repos(pusher, bins, n_refs, prefix="bench/deep", distinct=True)
            figs += bench_deep(deep_refs, work, runs)
            figs += bench_deep_at(reg.host, deep_refs, work, repeat=1 if quick else 3)
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
