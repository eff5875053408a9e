"""The platform word: `os/arch[/variant]`, the two spellings of an architecture, and how a node picks one.

This is the one place a platform string is parsed and an architecture word normalised. Two spellings are
legitimate and public: OCI's (`amd64`, `arm64`: image indexes, `--platform`, kubelet's node arch) and the
facts' (`x86_64`, `arm64`: what `uname -m` and `docker info` print, in the diagnose JSON). `oci_arch` and
`facts_arch` turn any tool's word into one of them.

An arm64 node accepts, in order: arm64 (any v8.x variant), then 32-bit arm v8/v7/v6/v5 entries of an
index; never amd64. A single (non-index) manifest is pulled whatever its architecture (containerd's
platforms package: https://github.com/containerd/platforms/blob/main/compare.go).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

INDEX_TYPES = {
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
}
MANIFEST_TYPES = {
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
}
ACCEPT = ", ".join(
    [
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ]
)
# Every spelling tools print, to OCI's word (GOARCH names).
_OCI_ARCH = {
    "aarch64": "arm64",
    "arm64/v8": "arm64",
    "x86_64": "amd64",
    "x86-64": "amd64",
    "armhf": "arm",
    "armel": "arm",
    "i386": "386",
}


def oci_arch(word: object) -> str | None:
    """Any tool's architecture word as OCI spells it: "aarch64" -> "arm64", "x86_64" -> "amd64"."""
    if not isinstance(word, str) or not word.strip():
        return None
    a = word.strip().lower()
    return _OCI_ARCH.get(a, a)


def facts_arch(word: object) -> str | None:
    """Any tool's architecture word as kdoctor's facts spell it (uname's x86_64, and arm64)."""
    a = oci_arch(word)
    return "x86_64" if a == "amd64" else a


def arch_of(text: str | None) -> str | None:
    """The OCI architecture in loose text: "linux/arm64/v8" -> "arm64", "windows/amd64 10.0.18363" -> "amd64",
    "aarch64" -> "arm64" (what logs and flags such as `why --node-arch` carry). 32-bit arm keeps its variant
    ("linux/arm/v7" -> "arm/v7", "armv6l" -> "arm/v6"): v7 code does not run on a v6 CPU, so the variant is
    part of the direction."""
    if not text or not text.strip():
        return None
    word = text.strip().split()[0].lower().strip("()[],")
    parts = word.split("/")
    if parts[0] in ("linux", "windows", "darwin", "freebsd") and len(parts) > 1:
        parts = parts[1:]
    arm = _ARM_UNAME.match(parts[0])
    if arm:  # uname's armv7l / armv6l
        return f"arm/v{arm.group(1)}"
    arch = oci_arch(parts[0])
    if arch == "arm" and len(parts) > 1 and parts[1].startswith("v"):
        return f"arm/{parts[1]}"
    return arch


_ARM_UNAME = re.compile(r"^armv(\d)l?$")


def is_foreign(image_arch: str, node_arch: str) -> bool:
    """Whether code of `image_arch` is foreign to a CPU of `node_arch` (both as `arch_of` spells them). 32-bit arm
    variants are ordered: v6 code runs on a v7 CPU, v7 code does not run on a v6 one."""
    if image_arch == node_arch:
        return False
    img, node = _ARM_VARIANT.match(image_arch), _ARM_VARIANT.match(node_arch)
    if img and node:
        return int(img.group(1)) > int(node.group(1))
    return True


_ARM_VARIANT = re.compile(r"^arm/v(\d)$")


@dataclass(frozen=True, order=True)
class Platform:
    os: str
    arch: str
    variant: str = ""

    @classmethod
    def parse(cls, text: str) -> Platform:
        parts = text.strip().lower().split("/")
        if len(parts) < 2 or not all(parts):
            raise ValueError(f"platform {text!r} is not os/arch[/variant]")
        return normalise(parts[0], parts[1], parts[2] if len(parts) > 2 else "")

    def __str__(self) -> str:
        return f"{self.os}/{self.arch}" + (f"/{self.variant}" if self.variant else "")


def normalise(os_: str, arch: str, variant: str = "") -> Platform:
    os_, variant = (os_ or "").lower(), (variant or "").lower()
    arch = oci_arch(arch) or ""
    if arch == "arm64" and variant in ("v8", "v8.0"):
        variant = ""  # arm64 and arm64/v8 are one platform
    if arch == "amd64" and variant == "v1":
        variant = ""
    return Platform(os_, arch, variant)


def config_platform(cfg: dict[str, Any]) -> Platform:
    """The platform an image config declares (os, architecture, variant)."""
    return normalise(str(cfg.get("os", "")), str(cfg.get("architecture", "")), str(cfg.get("variant", "")))


def is_attestation(entry: dict[str, Any]) -> bool:
    plat = entry.get("platform")
    plat = plat if isinstance(plat, dict) else {}
    ann = entry.get("annotations")
    ann = ann if isinstance(ann, dict) else {}
    return (plat.get("os"), plat.get("architecture")) == ("unknown", "unknown") or ann.get(
        "vnd.docker.reference.type"
    ) == "attestation-manifest"


@dataclass(frozen=True)
class IndexEntry:
    platform: Platform
    digest: str
    media_type: str


def index_entries(index: dict[str, Any]) -> list[IndexEntry]:
    out = []
    manifests = index.get("manifests")
    for e in manifests if isinstance(manifests, list) else []:
        if not isinstance(e, dict) or is_attestation(e):
            continue
        plat = e.get("platform") or {}
        if not isinstance(plat, dict) or not plat.get("architecture"):
            continue
        digest = e.get("digest")
        if not isinstance(digest, str):
            continue
        out.append(
            IndexEntry(
                normalise(str(plat.get("os", "")), str(plat["architecture"]), str(plat.get("variant", ""))),
                digest,
                str(e.get("mediaType", "")),
            )
        )
    return out


ARM32_FALLBACK = ("v8", "v7", "v6", "v5")


def match(entries: list[IndexEntry], target: Platform) -> tuple[IndexEntry | None, bool]:
    """(the entry a node of `target` pulls, whether it is an exact match) — containerd's order."""
    same_os = [e for e in entries if e.platform.os == target.os]
    exact = [e for e in same_os if e.platform.arch == target.arch and _variant_ok(e.platform, target)]
    if exact:
        return exact[0], True
    if target.arch == "arm64":
        for variant in ARM32_FALLBACK:
            for e in same_os:
                if e.platform.arch == "arm" and e.platform.variant == variant:
                    return e, False
    if target.arch == "amd64":
        for e in same_os:
            if e.platform.arch == "386":
                return e, False
    return None, False


def _variant_ok(p: Platform, target: Platform) -> bool:
    if p.arch == "arm64":
        return True  # v8.x variants all run on an arm64 node
    if p.arch == "amd64":
        return not target.variant or not p.variant or p.variant <= target.variant
    return not target.variant or p.variant == target.variant or not p.variant
