"""kind: its node image and cluster config, how it reports a cluster (node containers), and the planned
cluster as a fact for the checks. Every call goes through the runner."""

from __future__ import annotations

import os
import tempfile
from typing import TYPE_CHECKING, Any

import yaml

from kdoctor import versions
from kdoctor.errors import CommandFailed
from kdoctor.facts.model import Facts, KindCluster, KindFacts, KindNode, ToolFacts
from kdoctor.provision.model import Observed, Plan, Preflight, ProviderPlan, Sizes, require_ok, with_planned
from kdoctor.report.model import Severity
from kdoctor.runner import LineSink, Runner
from kdoctor.tools.docker import KIND_LABEL, docker_argv, node_rows

if TYPE_CHECKING:
    from kdoctor.provision.profile import Profile

# The config file's path exists only while `create` runs (a fresh temp file), so the plan shows this
# stand-in beside the config's text (`kind_config`); `create` builds its argv with the real path.
CONFIG_SHOWN = "<kind-config.yaml>"


def node_image(profile: Profile, tool: ToolFacts | None) -> tuple[str | None, str | None, list[Preflight]]:
    """(node image, its Kubernetes version, notes). `stable`, or a version the installed kind's default
    image has, takes that default, which is pinned by digest; any other version gets an unpinned tag."""
    notes: list[Preflight] = []
    default = versions.kind_default_image(tool.version if tool else None)
    image: str | None
    if profile.kind_config.node_image:
        image = profile.kind_config.node_image
    elif profile.kubernetes == "stable" or (default and default.split(":", 1)[1].startswith(profile.kubernetes + "@")):
        image = default
    else:
        image = f"kindest/node:{profile.kubernetes}"
        notes.append(
            Preflight(
                Severity.WARNING,
                f"{image} is not pinned by digest",
                "Set kindConfig.nodeImage to the image (with @sha256:…) listed in your kind release's notes.",
            )
        )
    k8s = None
    if image:
        tag = image.split("@")[0].rsplit(":", 1)[-1]
        k8s = tag if tag.startswith("v") else None
    if profile.kubernetes != "stable" and k8s and k8s != profile.kubernetes:
        notes.append(
            Preflight(
                Severity.ERROR,
                f"kindConfig.nodeImage is Kubernetes {k8s} but the profile pins {profile.kubernetes}",
                "Make them agree.",
            )
        )
    return image, k8s, notes


def cluster_config(profile: Profile) -> str:
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
            + "".join(f'    {k}: "{v}"\n' for k, v in profile.kubelet_flags())
        ]
    cfg: dict[str, Any] = {
        "kind": "Cluster",
        "apiVersion": "kind.x-k8s.io/v1alpha4",
        "name": profile.cluster_name,
        "nodes": nodes,
    }
    if profile.registry.enabled:
        # Not needed with kind >= v0.27 node images, harmless before (kind-with-registry.sh).
        cfg["containerdConfigPatches"] = [
            '[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "/etc/containerd/certs.d"'
        ]
    return yaml.safe_dump(cfg, sort_keys=False)


def create_argv(cluster: str, config_path: str, image: str | None) -> list[str]:
    # --wait 0s: kdoctor waits for /readyz and Ready nodes itself, with --wait-timeout.
    argv = ["kind", "create", "cluster", "--name", cluster, "--config", config_path, "--wait", "0s"]
    return argv + (["--image", image] if image else [])


def node_names(cluster: str, nodes: int) -> list[str]:
    """kind's container names: <cluster>-control-plane, then <cluster>-worker, -worker2, …"""
    return [f"{cluster}-control-plane"] + [f"{cluster}-worker{i if i > 1 else ''}" for i in range(1, nodes)]


class Kind:
    name = "kind"
    supports_addons = False
    profile_sections = ("kindConfig",)
    checks = ("KD604", "KD703")
    # A kind cluster's Kubernetes is its node image: no in-place upgrade, a new version means a new cluster.
    upgrades_in_place: tuple[str, ...] = ()

    # -- planning (pure)

    def plan_cluster(self, profile: Profile, sizes: Sizes, tool: ToolFacts | None) -> ProviderPlan:
        image, k8s, notes = node_image(profile, tool)
        config = cluster_config(profile)
        total = sizes.memory_mb * profile.nodes
        if sizes.vm_mb and total > sizes.vm_mb - sizes.headroom_mb:
            # kind has no memory flag, so no catalogue check sees the profile's memory: judge it here.
            notes.append(
                Preflight(
                    Severity.ERROR,
                    f"{profile.nodes} node(s) x {sizes.memory_mb} MB does not fit the engine VM's "
                    f"{sizes.vm_mb} MB with {sizes.headroom_mb} MB headroom",
                    "Lower resources.memory or enlarge the engine VM.",
                )
            )
        if profile.addons:
            notes.append(
                Preflight(
                    Severity.WARNING,
                    f"kind has no addons; ignoring {', '.join(profile.addons)}",
                    "Install them with kubectl or helm after `up`.",
                )
            )
        return ProviderPlan(
            context=f"kind-{profile.cluster_name}",
            kubernetes_version=k8s,
            node_image=image,
            create=create_argv(profile.cluster_name, CONFIG_SHOWN, image),
            immutable={"node_image": image, "kind_config": config},
            config=config,
            notes=tuple(notes),
        )

    def clusters(self, facts: Facts) -> set[str]:
        return {c.name for c in facts.kind.clusters} if facts.kind else set()

    def planned_facts(self, plan: Plan, facts: Facts) -> Facts:
        roles = ["control-plane"] + ["worker"] * (plan.nodes - 1)
        planned = KindCluster(
            name=plan.cluster,
            nodes=[
                KindNode(name=n, image=plan.node_image, role=r)
                for n, r in zip(node_names(plan.cluster, plan.nodes), roles, strict=True)
            ],
        )
        kd = facts.kind or KindFacts()
        # The plan stands in for a cluster of the same name: that is what `up` will make of it.
        clusters = [c for c in kd.clusters if c.name != plan.cluster] + [planned]
        return with_planned(facts, "kind", kind=kd.model_copy(update={"clusters": clusters}))

    def size_lines(self, plan: Plan) -> list[tuple[str, str]]:
        return [
            (
                "size",
                f"{plan.nodes} node(s) sharing the VM (kind has no size flags; needs ~{plan.memory_mb} MB per node)",
            )
        ]

    def registry_network(self, plan: Plan) -> str:
        return "kind"  # every kind cluster's nodes are on the one `kind` network

    def configures_containerd(self, plan: Plan) -> bool:
        return True  # kind nodes always run containerd

    # -- operations (through the runner)

    def _nodes(self, runner: Runner, name: str) -> list[dict[str, Any]]:
        res = runner.run(
            [*docker_argv(), "ps", "-a", "--filter", f"label={KIND_LABEL}={name}", "--format", "{{json .}}"],
            timeout=30,
        )
        return [row for cluster, _, row in node_rows(res.stdout) if cluster == name]

    def observe(self, runner: Runner, plan: Plan) -> Observed:
        res = runner.run(["kind", "get", "clusters"], timeout=30)
        if not res.ok:
            raise CommandFailed(res.argv, res.returncode, res.why())
        names = {line.strip() for line in res.stdout.splitlines()}
        if plan.cluster not in names:  # exact name
            return Observed(exists=False)
        rows = self._nodes(runner, plan.cluster)
        images = {str(r.get("Image")) for r in rows}
        running = bool(rows) and all(r.get("State") == "running" for r in rows)
        return Observed(
            exists=True,
            running=running,
            status="Running" if running else "Stopped",
            immutable={
                "provider": self.name,
                "nodes": len(rows) or None,
                "node_image": images.pop() if len(images) == 1 else None,
            },
            nodes=sorted(str(r.get("Names")) for r in rows),
        )

    def create(self, runner: Runner, plan: Plan, on_line: LineSink) -> None:
        fd, path = tempfile.mkstemp(prefix="kdoctor-kind-", suffix=".yaml")
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write(plan.kind_config or "")
            argv = create_argv(plan.cluster, path, plan.node_image)
            require_ok(runner.stream(argv, on_line=on_line, timeout=1800), "kind create cluster")
        finally:
            os.unlink(path)

    def start(self, runner: Runner, plan: Plan, observed: Observed, on_line: LineSink) -> None:
        # kind has no start/stop; its nodes are containers.
        require_ok(runner.run([*docker_argv(), "start", *observed.nodes], timeout=120), "docker start")

    def upgrade(self, runner: Runner, plan: Plan, observed: Observed, on_line: LineSink) -> None:
        raise NotImplementedError("kind has no in-place upgrade (upgrades_in_place is empty)")

    def stop(self, runner: Runner, plan: Plan, observed: Observed) -> None:
        require_ok(runner.run([*docker_argv(), "stop", *observed.nodes], timeout=120), "docker stop")

    def delete(self, runner: Runner, plan: Plan, on_line: LineSink) -> None:
        argv = ["kind", "delete", "cluster", "--name", plan.cluster]
        require_ok(runner.stream(argv, on_line=on_line, timeout=600), "kind delete cluster")

    def sync_addons(self, runner: Runner, plan: Plan, observed: Observed, previous: set[str]) -> list[str]:
        return []  # kind has no addons; the plan already warned that the profile's are ignored
