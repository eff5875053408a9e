"""Profile + facts -> a plan: sizes that fit the engine VM, a supported Kubernetes version, the docker
driver, the registry wiring, the exact commands, and the preflight findings. Pure: no I/O."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from kdoctor import versions
from kdoctor.facts.model import MIB, Facts
from kdoctor.provision.profile import Profile, Share, to_mb

MIN_CPUS = 2
MIN_MEMORY_MB = 1800  # kubeadm will not start with less (minikube minUsableMem)
HEADROOM_MB = 1024  # left in the VM for the engine, a registry and builds
PLAN_SCHEMA = "kdoctor/plan/v1"


@dataclass
class Preflight:
    severity: str  # "error" stops the plan; "warning" is printed
    message: str
    fix: str = ""

    def to_json(self) -> dict[str, str]:
        return {"severity": self.severity, "message": self.message, "fix": self.fix}


@dataclass
class Plan:
    profile: str
    provider: str
    cluster: str
    context: str
    kubernetes_version: str | None
    node_image: str | None
    cpus: int
    memory_mb: int
    disk_mb: int | None
    nodes: int
    runtime: str
    addons: list[str]
    registry: dict[str, Any] | None
    kind_config: str | None
    create: list[str]
    vm: dict[str, Any]
    preflight: list[Preflight] = field(default_factory=list)
    spec: dict[str, Any] = field(default_factory=dict)
    flexible: set[str] = field(default_factory=set)  # sizes taken as a share of the VM: not a conflict if they differ

    @property
    def profile_hash(self) -> str:
        return hashlib.sha256(json.dumps(self.spec, sort_keys=True).encode()).hexdigest()[:16]

    @property
    def ok(self) -> bool:
        return not any(p.severity == "error" for p in self.preflight)

    def immutable(self) -> dict[str, Any]:
        """What minikube/kind cannot change on an existing cluster."""
        base: dict[str, Any] = {
            "provider": self.provider,
            "kubernetes_version": self.kubernetes_version,
            "nodes": self.nodes,
        }
        if self.provider == "minikube":
            base.update(cpus=self.cpus, memory_mb=self.memory_mb, runtime=self.runtime, driver="docker")
        else:
            base.update(node_image=self.node_image, kind_config=self.kind_config)
        return base

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": PLAN_SCHEMA,
            "profile": self.profile,
            "provider": self.provider,
            "cluster": self.cluster,
            "context": self.context,
            "kubernetes_version": self.kubernetes_version,
            "node_image": self.node_image,
            "cpus": self.cpus,
            "memory_mb": self.memory_mb,
            "disk_mb": self.disk_mb,
            "nodes": self.nodes,
            "runtime": self.runtime,
            "addons": self.addons,
            "registry": self.registry,
            "vm": self.vm,
            "kind_config": self.kind_config,
            "commands": [self.create],
            "ok": self.ok,
            "preflight": [p.to_json() for p in self.preflight],
        }


def kebab(name: str) -> str:
    """kubelet settings are written camelCase in profiles (maxPods) and passed as flags (max-pods)."""
    return re.sub(r"(?<!^)([A-Z])", r"-\1", name).lower()


def _share(value: Share, total: float, floor: float, to: type = int) -> float:
    n = value.share * total
    lo = to_mb(value.min) if value.min is not None and to is float else value.min
    hi = to_mb(value.max) if value.max is not None and to is float else value.max
    if lo is not None:
        n = max(n, float(lo))
    if hi is not None:
        n = min(n, float(hi))
    return max(n, floor)


def _kind_config(profile: Profile, registry: dict[str, Any] | None) -> str:
    nodes: list[dict[str, Any]] = [{"role": "control-plane"}]
    nodes += [{"role": "worker"} for _ in range(profile.nodes - 1)]
    if profile.ports:
        nodes[0]["extraPortMappings"] = [
            {
                "containerPort": p.container_port,
                "hostPort": p.host_port,
                "listenAddress": p.listen_address,
                "protocol": p.protocol,
            }
            for p in profile.ports
        ]
    if profile.kubelet:
        nodes[0]["kubeadmConfigPatches"] = [
            "kind: InitConfiguration\nnodeRegistration:\n  kubeletExtraArgs:\n"
            + "".join(f'    {kebab(k)}: "{v}"\n' for k, v in sorted(profile.kubelet.items()))
        ]
    cfg: dict[str, Any] = {
        "kind": "Cluster",
        "apiVersion": "kind.x-k8s.io/v1alpha4",
        "name": profile.cluster_name,
        "nodes": nodes,
    }
    if registry:
        # Not needed with kind >= v0.27 node images, harmless before (kind-with-registry.sh).
        cfg["containerdConfigPatches"] = [
            '[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "/etc/containerd/certs.d"'
        ]
    return yaml.safe_dump(cfg, sort_keys=False)


def make_plan(profile: Profile, facts: Facts) -> Plan:
    pre: list[Preflight] = []
    eng = facts.engine
    vm_cpus = eng.ncpu if eng and eng.reachable and eng.ncpu else 0
    vm_mb = (eng.mem_total // MIB) if eng and eng.reachable and eng.mem_total else 0
    if not vm_cpus:
        pre.append(
            Preflight(
                "error",
                "no container engine answers, so there is nothing to size the cluster for"
                + (f" ({eng.error})" if eng and eng.error else ""),
                "Start Docker Desktop, OrbStack or Colima and re-run.",
            )
        )
    # CPUs
    r = profile.resources
    if isinstance(r.cpus, Share):
        cpus = int(_share(r.cpus, vm_cpus or MIN_CPUS, MIN_CPUS))
        cpus = min(cpus, vm_cpus) if vm_cpus else cpus
    else:
        cpus = r.cpus
    # Memory (per node)
    if isinstance(r.memory, Share):
        mem = int(_share(r.memory, vm_mb or MIN_MEMORY_MB, MIN_MEMORY_MB, float)) // profile.nodes
        floor = to_mb(r.memory.min) if r.memory.min is not None else MIN_MEMORY_MB
        if vm_mb:
            room = (vm_mb - HEADROOM_MB) // profile.nodes
            if room < floor:
                pre.append(
                    Preflight(
                        "error",
                        f"the profile needs at least {floor} MB per node but the engine VM "
                        f"({vm_mb} MB, less {HEADROOM_MB} MB headroom) has room for {room} MB",
                        "Enlarge the engine VM, or use a smaller profile (kdoctor up --profile minimal).",
                    )
                )
            mem = min(mem, room)
        mem = mem // 256 * 256 if mem >= 2048 else mem  # round sizes down to a readable number
    else:
        mem = to_mb(r.memory)
    disk = to_mb(r.disk) if r.disk is not None else None
    if cpus < MIN_CPUS:
        pre.append(
            Preflight(
                "error",
                f"{cpus} CPU(s) is below the {MIN_CPUS} Kubernetes needs",
                "Give the profile (and the engine VM) at least 2 CPUs.",
            )
        )
    if vm_cpus and cpus > vm_cpus:
        pre.append(
            Preflight(
                "error",
                f"the profile asks {cpus} CPUs but the engine VM has {vm_cpus}",
                "Lower resources.cpus or give the engine VM more CPUs.",
            )
        )
    if mem < MIN_MEMORY_MB:
        who = "the engine VM leaves" if isinstance(r.memory, Share) else "the profile asks"
        pre.append(
            Preflight(
                "error",
                f"{who} {mem} MB per node, below the {MIN_MEMORY_MB} MB Kubernetes needs",
                "Give the engine VM more memory, or use fewer nodes.",
            )
        )
    if vm_mb and mem * profile.nodes > vm_mb - HEADROOM_MB:
        pre.append(
            Preflight(
                "error",
                f"{profile.nodes} node(s) x {mem} MB does not fit the engine VM's {vm_mb} MB "
                f"with {HEADROOM_MB} MB headroom",
                "Lower resources.memory or enlarge the engine VM.",
            )
        )
    if eng and eng.reachable and facts.apple_silicon() and eng.arch == "x86_64":
        pre.append(
            Preflight(
                "error",
                "the engine VM is x86_64 on this Apple Silicon Mac: every node would be emulated",
                "Install the Apple Silicon build of the engine (see `kdoctor explain KD302`).",
            )
        )
    # Tools and versions
    tool = facts.tools.get(profile.provider)
    k8s: str | None = None
    node_image: str | None = None
    if tool is None or not tool.path:
        pre.append(
            Preflight(
                "error",
                f"{profile.provider} is not installed",
                f"Install it (arm64 build): brew install {profile.provider}",
            )
        )
    if profile.provider == "minikube":
        if tool and tool.binary_arch == "x86_64" and facts.apple_silicon():
            pre.append(
                Preflight(
                    "error",
                    f"minikube at {tool.path} is an x86_64 binary; it refuses the docker driver on Apple Silicon",
                    "brew install minikube (arm64 Homebrew under /opt/homebrew)",
                )
            )
        rng = versions.minikube_supported_range(tool.version if tool else None)
        if profile.kubernetes == "stable":
            k8s = rng[1] if rng else None
        else:
            k8s = profile.kubernetes
            if rng:
                lo, hi = versions.parse(rng[0]), versions.parse(rng[1])
                v = versions.parse(k8s)
                if v and lo and hi and (v < lo or (v > hi and rng[2])):
                    pre.append(
                        Preflight(
                            "error",
                            f"minikube {tool.version if tool else ''} supports Kubernetes "
                            f"{rng[0]} to {rng[1]}, not {k8s}",
                            "Pin a supported version or upgrade minikube.",
                        )
                    )
    else:
        default = versions.kind_default_image(tool.version if tool else None)
        if profile.kind_config.node_image:
            node_image = profile.kind_config.node_image
        elif profile.kubernetes == "stable" or (
            default and default.split(":", 1)[1].startswith(profile.kubernetes + "@")
        ):
            node_image = default
        else:
            node_image = f"kindest/node:{profile.kubernetes}"
            pre.append(
                Preflight(
                    "warning",
                    f"{node_image} is not pinned by digest",
                    "Set kindConfig.nodeImage to the image (with @sha256:…) listed in your kind release's notes.",
                )
            )
        if node_image:
            tag = node_image.split("@")[0].rsplit(":", 1)[-1]
            k8s = tag if tag.startswith("v") else None
        if profile.kubernetes != "stable" and k8s and k8s != profile.kubernetes:
            pre.append(
                Preflight(
                    "error",
                    f"kindConfig.nodeImage is Kubernetes {k8s} but the profile pins {profile.kubernetes}",
                    "Make them agree.",
                )
            )
    registry = None
    if profile.registry.enabled:
        registry = {
            "name": profile.registry.name,
            "host": f"localhost:{profile.registry.port}",
            "port": profile.registry.port,
            "image": profile.registry.image,
            "in_cluster": f"{profile.registry.name}:5000",
        }
    context = profile.cluster_name if profile.provider == "minikube" else f"kind-{profile.cluster_name}"
    kind_config = _kind_config(profile, registry) if profile.provider == "kind" else None
    if profile.provider == "minikube":
        create = [
            "minikube",
            "start",
            "-p",
            profile.cluster_name,
            "--driver=docker",
            f"--cpus={cpus}",
            f"--memory={mem}mb",
            f"--container-runtime={profile.runtime}",
            f"--nodes={profile.nodes}",
        ]
        if k8s:
            create.append(f"--kubernetes-version={k8s}")
        if disk:
            create.append(f"--disk-size={disk}mb")
        create += [f"--addons={a}" for a in profile.addons]
        create += [f"--extra-config=kubelet.{kebab(k)}={v}" for k, v in sorted(profile.kubelet.items())]
        if registry:
            create.append(f"--insecure-registry={registry['in_cluster']}")
        if profile.ports:
            create += [f"--ports={p.listen_address}:{p.host_port}:{p.container_port}" for p in profile.ports]
    else:
        create = [
            "kind",
            "create",
            "cluster",
            "--name",
            profile.cluster_name,
            "--config",
            "<kind-config.yaml>",
            "--wait",
            "0s",
        ]
        if node_image:
            create += ["--image", node_image]
        if profile.addons:
            pre.append(
                Preflight(
                    "warning",
                    f"kind has no addons; ignoring {', '.join(profile.addons)}",
                    "Install them with kubectl or helm after `up`.",
                )
            )
    return Plan(
        profile=profile.name,
        provider=profile.provider,
        cluster=profile.cluster_name,
        context=context,
        kubernetes_version=k8s,
        node_image=node_image,
        cpus=cpus,
        memory_mb=mem,
        disk_mb=disk,
        nodes=profile.nodes,
        runtime=profile.runtime,
        addons=list(profile.addons),
        registry=registry,
        kind_config=kind_config,
        create=create,
        vm={"cpus": vm_cpus, "memory_mb": vm_mb, "product": eng.product if eng else None},
        preflight=pre,
        spec=profile.spec(),
        flexible={k for k, v in (("cpus", r.cpus), ("memory_mb", r.memory)) if isinstance(v, Share)},
    )
