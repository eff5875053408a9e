"""What the benchmarks share: the Accept header every client sends, reading and writing reference lists, and
the multi-arch repositories pushed into the real registry. Imported by run.py, latency.py and the two
baseline clients (which run as their own processes and import only this, so their start-up stays small)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # only run.py pushes images; the baseline clients never import the test helpers
    from tests.support.imagebuilder import Pusher

ACCEPT = ", ".join(
    [
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ]
)


def read_refs(path: str) -> list[str]:
    """A plain reference list, one per line."""
    with open(path) as fh:
        return [line.strip() for line in fh if line.strip()]


def refs_yaml(refs: list[str], path: Path) -> Path:
    """The references as one Kubernetes List of Pods (JSON, which is YAML), the way `kdoctor images -f` reads
    real manifests."""
    docs = [
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": f"p{i}"},
            "spec": {"containers": [{"name": "c", "image": r}]},
        }
        for i, r in enumerate(refs)
    ]
    path.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": docs}))
    return path


def push_multiarch_repos(
    p: Pusher, bins: dict[str, bytes], n: int, *, prefix: str = "bench/multi", distinct: bool = False
) -> list[str]:
    """n repositories, each with tag 1.0 naming an OCI index (amd64 + arm64). With `distinct`, every
    repository's images are its own (their config differs), as in real life, so nothing a scan caches for one
    serves another; otherwise all share one amd64 and one arm64 image."""
    amd_layer = p.layer({"/usr/local/bin/hello": bins["go-amd64"]})
    arm_layer = p.layer({"/usr/local/bin/hello": bins["go-arm64"]})
    refs = []
    for i in range(n):
        repo = f"{prefix}{i:04d}"
        env = [f"BENCH_IMAGE={i}"] if distinct else None
        amd = p.image(repo, None, arch="amd64", layers=[amd_layer], entrypoint=["/usr/local/bin/hello"], env=env)
        arm = p.image(repo, None, arch="arm64", layers=[arm_layer], entrypoint=["/usr/local/bin/hello"], env=env)
        p.index(repo, "1.0", [amd, arm])
        refs.append(f"{p.host}/{repo}:1.0")
    return refs
