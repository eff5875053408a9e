"""The facts snapshot: everything the probes saw, serialisable to JSON and back.

A snapshot written by `kdoctor facts --output json` can be replayed with
`kdoctor diagnose --facts FILE`; that is how the tests replay Apple Silicon machines on Linux.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = 1
MIB = 1024 * 1024
GIB = 1024 * MIB


def gib(n: float) -> str:
    return f"{n / GIB:.1f} GiB"


class _Model(BaseModel):
    # Snapshots are hand-written in tests and attached to support requests: a typo must fail
    # loudly rather than silently drop a fact. defer_build: a model's validator is built when it is first
    # used, not at import (importing this module took ~0.17 s, ~0.11 s without the builds); commands that
    # import it and use few models start faster.
    model_config = ConfigDict(extra="forbid", defer_build=True)


class ProbeStatus(StrEnum):
    OK = "ok"
    MISSING = "missing"  # the tool or file is not there; a fact in itself
    ERROR = "error"  # it is there but answered badly
    TIMEOUT = "timeout"
    DENIED = "denied"  # it answered "forbidden" / "unauthorized": it is there but would not show us


_DENIED = re.compile(r"forbidden|unauthorized|cannot list resource|permission denied", re.I)
_TIMED_OUT = re.compile(r"timed? ?out|timeout|deadline exceeded|took longer than", re.I)


def failure_status(error: str) -> ProbeStatus:
    """How a probe's error text failed: denied, timed out, or any other error (one reading for every probe)."""
    if _DENIED.search(error):
        return ProbeStatus.DENIED
    if _TIMED_OUT.search(error):
        return ProbeStatus.TIMEOUT
    return ProbeStatus.ERROR


# A probe in one of these states could not look: whatever depends on it is skipped, never ok.
FAILED_STATUSES = frozenset({ProbeStatus.ERROR, ProbeStatus.TIMEOUT, ProbeStatus.DENIED})


class ProbeRecord(_Model):
    status: ProbeStatus
    reason: str | None = None
    duration_ms: int = 0


class HostFacts(_Model):
    os: str  # "darwin", "linux"
    os_version: str | None = None
    arch: str  # the machine's real architecture: "arm64" or "x86_64"
    apple_chip: str | None = None  # "Apple M2 Pro"
    apple_silicon: bool = False
    python_translated: bool | None = None  # sysctl.proc_translated: this Python runs under Rosetta
    memory_total: int = 0  # bytes
    memory_available: int = 0
    cpus: int = 0
    disk_free: int | None = None  # bytes, on the home volume
    # On a Mac, why the kernel's answers (sysctl) could not be read: the real architecture and Rosetta are then not
    # known, and the probe counts as failed rather than guessing from this Python's own view.
    failed: str | None = None


class ToolFacts(_Model):
    name: str
    path: str | None = None  # None: not on PATH
    version: str | None = None  # "v1.38.1", "0.32.0"…; as the tool reports it
    binary_arch: str | None = None  # "arm64", "x86_64", "universal", "script", "unknown"
    error: str | None = None


class DockerDesktopSettings(_Model):
    path: str
    use_virtualization_framework: bool | None = None
    use_rosetta: bool | None = None
    use_libkrun: bool | None = None
    cpus: int | None = None
    memory_mib: int | None = None
    error: str | None = None  # the file exists but could not be read


class ColimaConfig(_Model):
    path: str
    vm_type: str | None = None
    rosetta: bool | None = None
    binfmt: bool | None = None
    arch: str | None = None
    cpu: int | None = None
    memory_gib: float | None = None
    error: str | None = None


class LimaConfig(_Model):
    """A Lima instance's lima.yaml (Rancher Desktop's VM, or a plain Lima instance answering docker)."""

    path: str
    vm_type: str | None = None  # vz, qemu
    rosetta: bool | None = None  # rosetta.enabled
    arch: str | None = None
    cpus: int | None = None
    memory: int | None = None  # bytes
    container_engine: str | None = None  # Rancher Desktop's settings: moby or containerd
    error: str | None = None


Product = Literal[
    "docker-desktop", "orbstack", "colima", "rancher-desktop", "podman", "lima", "docker-engine", "unknown"
]


class EngineFacts(_Model):
    reachable: bool = False
    error: str | None = None
    product: Product = "unknown"
    product_version: str | None = None  # Docker Desktop's own version when it says
    server_version: str | None = None
    name: str | None = None
    operating_system: str | None = None
    kernel_version: str | None = None
    arch: str | None = None  # normalised: "arm64" / "x86_64"
    ncpu: int | None = None
    mem_total: int | None = None  # bytes
    rootless: bool = False
    vm_type: str | None = None  # the VM's hypervisor as the product names it: vz, qemu, applehv, libkrun...
    context: str | None = None  # the docker CLI context that was asked
    docker_desktop: DockerDesktopSettings | None = None
    colima: ColimaConfig | None = None
    lima: LimaConfig | None = None


class VMFacts(_Model):
    """A VM that Colima or Lima manages on this Mac (`colima list --json`, `limactl list --json`)."""

    product: Literal["colima", "lima"]
    name: str
    status: str | None = None  # Running, Stopped, Broken...
    arch: str | None = None  # normalised: arm64 / x86_64
    cpus: int | None = None
    memory: int | None = None  # bytes
    vm_type: str | None = None  # vz, qemu (Lima says; Colima's list does not)
    runtime: str | None = None  # docker, containerd (Colima)


class BinfmtEntry(_Model):
    name: str
    enabled: bool
    interpreter: str | None = None
    flags: str | None = None
    magic: str | None = None


Emulator = Literal["qemu", "rosetta", "fex", "none", "unknown", "native"]


class EmulationFacts(_Model):
    emulator: Emulator = "unknown"  # what runs linux/amd64 code in the engine VM
    source: str = "none"  # binfmt:<container>, docker-desktop-settings, colima.yaml, product, ...
    libkrun: bool = False
    detail: str | None = None
    binfmt: list[BinfmtEntry] | None = None  # None: not read


class MinikubeProfile(_Model):
    name: str
    status: str | None = None
    driver: str | None = None
    cpus: int | None = None  # 0 = no-limit
    memory_mb: int | None = None  # 0 = no-limit
    disk_mb: int | None = None
    kubernetes_version: str | None = None
    container_runtime: str | None = None
    nodes: int = 1
    rosetta: bool = False
    addons: list[str] = Field(default_factory=list)
    source: str = "profile list"  # or the config.json path


class MinikubeFacts(_Model):
    version: str | None = None
    profiles: list[MinikubeProfile] = Field(default_factory=list)
    errors: list[str] = Field(default_factory=list)  # per-file problems, e.g. malformed config.json
    # Why the profiles could not be listed at all (the list command failed and no profile file was read): the
    # probe then counts as failed, so no check says "ok" about profiles it never saw.
    failed: str | None = None


class KindNode(_Model):
    name: str
    image: str | None = None
    state: str | None = None
    role: str | None = None


class KindCluster(_Model):
    name: str
    nodes: list[KindNode] = Field(default_factory=list)


class KindFacts(_Model):
    version: str | None = None
    clusters: list[KindCluster] = Field(default_factory=list)
    errors: list[str] = Field(default_factory=list)
    # Why the clusters could not be listed (`kind get clusters` or the node containers' listing failed): the probe
    # then counts as failed, so no check says "ok: no kind clusters" about clusters it never saw.
    failed: str | None = None


class NodeFacts(_Model):
    name: str
    arch: str | None = None
    ready: bool | None = None
    kubelet_version: str | None = None


class PodProblem(_Model):
    namespace: str
    name: str
    reason: str  # CrashLoopBackOff, ImagePullBackOff, ...
    container: str | None = None
    image: str | None = None


class KubectlFacts(_Model):
    client_version: str | None = None
    current_context: str | None = None
    server_reachable: bool = False
    server_version: str | None = None
    server_error: str | None = None
    list_error: str | None = None  # `get nodes,pods` failed although the server answered `version`
    nodes: list[NodeFacts] = Field(default_factory=list)
    failing_pods: list[PodProblem] = Field(default_factory=list)
    # Why the node or pod list could not be read (kubectl's own text: Forbidden, a timeout, a dropped connection).
    # Set: `nodes`/`failing_pods` are empty because kdoctor could not look, not because there are none. The same
    # failure is recorded as the probe record `kubectl.nodes`/`kubectl.pods` (status error or timeout).
    nodes_error: str | None = None
    pods_error: str | None = None
    # Why kubectl could not say which cluster is current (`config current-context` failed for another reason than
    # "not set", e.g. a timeout): "no cluster" would then be a guess, so the probe counts as failed.
    failed: str | None = None


class ImageFact(_Model):
    ref: str
    verdict: str  # native | emulated | crash | unsupported | unknown
    reason: str = ""
    go_version: str | None = None
    suggestion: str | None = None
    sources: list[str] = Field(default_factory=list)
    risks: list[str] = Field(default_factory=list)  # risk-rule ids of checks/risks.yaml (the ids `why` names)


class ImagesFacts(_Model):
    platform: str
    emulator: str
    budget_s: float
    images: list[ImageFact] = Field(default_factory=list)


class Facts(_Model):
    schema_version: int = SCHEMA_VERSION
    kdoctor_version: str | None = None
    collected_at: str | None = None
    probes: dict[str, ProbeRecord] = Field(default_factory=dict)
    host: HostFacts | None = None
    tools: dict[str, ToolFacts] = Field(default_factory=dict)
    engine: EngineFacts | None = None
    emulation: EmulationFacts | None = None
    minikube: MinikubeFacts | None = None
    kind: KindFacts | None = None
    kubectl: KubectlFacts | None = None
    vms: list[VMFacts] | None = None  # None: neither colima nor limactl is installed
    images: ImagesFacts | None = None

    def apple_silicon(self) -> bool:
        h = self.host
        return bool(h and (h.apple_silicon or (h.os == "darwin" and h.arch == "arm64")))

    def vm_memory_mb(self) -> int | None:
        """The engine VM's memory, when the engine answered and said."""
        e = self.engine
        if e is None or not e.reachable or not e.mem_total:
            return None
        return e.mem_total // MIB
