"""Version arithmetic and the version facts kdoctor knows about minikube, kind and Go.

Tables come from kubernetes/minikube pkg/minikube/constants/constants.go and kubernetes-sigs/kind
pkg/apis/config/defaults/image.go at each release tag.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TypeVar

V = TypeVar("V")

_VER = re.compile(r"v?(\d+)\.(\d+)(?:\.(\d+))?")


def parse(version: str | None) -> tuple[int, int, int] | None:
    if not version:
        return None
    m = _VER.search(version)
    if not m:
        return None
    return int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)


def fmt(v: tuple[int, int, int]) -> str:
    return f"v{v[0]}.{v[1]}.{v[2]}"


# minikube release -> (oldest, newest/default) Kubernetes version it supports.
MINIKUBE_K8S: dict[tuple[int, int, int], tuple[str, str]] = {
    (1, 33, 0): ("v1.20.0", "v1.30.0"),
    (1, 34, 0): ("v1.20.0", "v1.31.0"),
    (1, 35, 0): ("v1.20.0", "v1.32.0"),
    (1, 36, 0): ("v1.20.0", "v1.33.1"),
    (1, 37, 0): ("v1.28.0", "v1.34.0"),
    (1, 38, 0): ("v1.28.0", "v1.35.0"),
    (1, 38, 1): ("v1.28.0", "v1.35.1"),
}

# kind release -> default node image (multi-arch index, pinned by digest).
KIND_NODE_IMAGE: dict[tuple[int, int, int], str] = {
    (0, 27, 0): "kindest/node:v1.32.2@sha256:f226345927d7e348497136874b6d207e0b32cc52154ad8323129352923a3142f",
    (0, 28, 0): "kindest/node:v1.33.1@sha256:8d866994839cd096b3590681c55a6fa4a071fdaf33be7b9660e5697d2ed13002",
    (0, 29, 0): "kindest/node:v1.33.1@sha256:050072256b9a903bd914c0b2866828150cb229cea0efe5892e2b644d5dd3b34f",
    (0, 30, 0): "kindest/node:v1.34.0@sha256:7416a61b42b1662ca6ca89f02028ac133a309a2a30ba309614e8ec94d976dc5a",
    (0, 31, 0): "kindest/node:v1.35.0@sha256:452d707d4862f52530247495d180205e029056831160e22870e37e3f6c1ac31f",
    (0, 32, 0): "kindest/node:v1.36.1@sha256:3489c7674813ba5d8b1a9977baea8a6e553784dab7b84759d1014dbd78f7ebd5",
}

# The Go runtime fix for amd64-on-arm64 pointer packing (golang/go#69255, commit bf95b767).
GO_QEMU_FIXED = (1, 25, 4)


def _floor(table: Mapping[tuple[int, int, int], V], v: tuple[int, int, int]) -> V | None:
    """The entry for the newest release at or below `v` (a newer release supports at least that)."""
    known = [k for k in table if k <= v]
    return table[max(known)] if known else None


def minikube_supported_range(minikube_version: str | None) -> tuple[str, str, bool] | None:
    """(oldest, newest, exact) for a minikube release; ``exact`` is False when the release is not in
    the table and the nearest older one stands in (a newer minikube supports at least that)."""
    v = parse(minikube_version)
    if v is None:
        return None
    hit = _floor(MINIKUBE_K8S, v)
    if hit is None:
        return None
    return hit[0], hit[1], v in MINIKUBE_K8S


def kind_default_image(kind_version: str | None) -> str | None:
    v = parse(kind_version)
    return _floor(KIND_NODE_IMAGE, v) if v else None


def go_version_tuple(go_version: str | None) -> tuple[int, int, int] | None:
    """ "go1.22.3 X:boringcrypto" -> (1, 22, 3); "go1.21rc2" -> (1, 21, 0)."""
    if not go_version:
        return None
    m = re.match(r"go(\d+)\.(\d+)(?:\.(\d+))?", go_version.strip())
    if not m:
        return None
    return int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
