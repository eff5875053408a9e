"""What several benchmarks set up: the kdoctor command line for a reference list, and images with big layers."""

from __future__ import annotations

import os
from pathlib import Path

from benchmarks.harness import KDOCTOR
from tests.support.imagebuilder import Pusher


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


def images_cmd(
    refs_file: Path, cache: Path, extra: tuple[str, ...] | list[str] = ()
) -> tuple[list[str], dict[str, str]]:
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
