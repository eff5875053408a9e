"""minikube: its flags and Kubernetes versions, how it reports a profile, its addons, and the planned
profile as a fact for the checks. Every call goes through the runner."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from kdoctor import versions
from kdoctor.errors import CommandFailed
from kdoctor.facts.model import Facts, MinikubeFacts, MinikubeProfile, ToolFacts
from kdoctor.provision.model import Observed, Plan, ProviderPlan, Sizes, addon_changes, require_ok, with_planned
from kdoctor.runner import LineSink, Runner

if TYPE_CHECKING:
    from kdoctor.provision.profile import Profile

MINIKUBE_ENV = {"MINIKUBE_IN_STYLE": "false"}
RUNNING = {"OK", "Running", "HAppy", "Warning", "Degraded"}


def kubernetes_version(profile: Profile, tool: ToolFacts | None) -> str | None:
    """`stable` is the newest Kubernetes the installed minikube supports; a pinned version is taken as
    written, and KD701 judges whether this minikube supports it."""
    if profile.kubernetes != "stable":
        return profile.kubernetes
    rng = versions.minikube_supported_range(tool.version if tool else None)
    return rng[1] if rng else None


def start_argv(profile: Profile, sizes: Sizes, k8s: str | None) -> list[str]:
    argv = [
        "minikube",
        "start",
        "-p",
        profile.cluster_name,
        "--driver=docker",
        f"--cpus={sizes.cpus}",
        f"--memory={sizes.memory_mb}mb",
        f"--container-runtime={profile.runtime}",
        f"--nodes={profile.nodes}",
    ]
    if k8s:
        argv.append(f"--kubernetes-version={k8s}")
    if sizes.disk_mb:
        argv.append(f"--disk-size={sizes.disk_mb}mb")
    argv += [f"--addons={a}" for a in profile.addons]
    argv += [f"--extra-config=kubelet.{k}={v}" for k, v in profile.kubelet_flags()]
    if profile.registry.enabled:
        # The host registry instead of minikube's registry addon (kubernetes/minikube#15647).
        argv.append(f"--insecure-registry={profile.registry.in_cluster}")
    argv += [f"--ports={p.listen_address}:{p.host_port}:{p.container_port}" for p in profile.ports]
    return argv


class Minikube:
    name = "minikube"
    supports_addons = True
    profile_sections = ()
    checks = ("KD501", "KD502", "KD601", "KD602", "KD603", "KD701")
    # `minikube start --kubernetes-version=<newer>` upgrades an existing cluster; an older one is refused
    # (K8S_DOWNGRADE_UNSUPPORTED, "Unable to safely downgrade existing Kubernetes"; kubernetes/minikube
    # cmd/minikube/cmd/start.go, which also prints "If you would like to upgrade, specify: --kubernetes-version").
    upgrades_in_place = ("kubernetes_version",)

    # -- planning (pure)

    def plan_cluster(self, profile: Profile, sizes: Sizes, tool: ToolFacts | None) -> ProviderPlan:
        k8s = kubernetes_version(profile, tool)
        return ProviderPlan(
            context=profile.cluster_name,
            kubernetes_version=k8s,
            node_image=None,
            create=start_argv(profile, sizes, k8s),
            # minikube keeps an existing profile's sizes, runtime and driver whatever `start` is given.
            immutable={
                "cpus": sizes.cpus,
                "memory_mb": sizes.memory_mb,
                "runtime": profile.runtime,
                "driver": "docker",
            },
        )

    def clusters(self, facts: Facts) -> set[str]:
        return {p.name for p in facts.minikube.profiles} if facts.minikube else set()

    def planned_facts(self, plan: Plan, facts: Facts) -> Facts:
        planned = MinikubeProfile(
            name=plan.cluster,
            driver="docker",
            cpus=plan.cpus,
            memory_mb=plan.memory_mb,
            disk_mb=plan.disk_mb,
            kubernetes_version=plan.kubernetes_version,
            container_runtime=plan.runtime,
            nodes=plan.nodes,
            addons=list(plan.addons),
            source="kdoctor up plan",
        )
        mk = facts.minikube or MinikubeFacts()
        # The plan stands in for a profile of the same name: that is what `up` will make of it.
        profiles = [p for p in mk.profiles if p.name != plan.cluster] + [planned]
        return with_planned(facts, "minikube", minikube=mk.model_copy(update={"profiles": profiles}))

    def size_lines(self, plan: Plan) -> list[tuple[str, str]]:
        disk = f", {plan.disk_mb} MB disk" if plan.disk_mb else ""
        return [
            ("size", f"{plan.cpus} CPUs, {plan.memory_mb} MB per node, {plan.nodes} node(s){disk}"),
            ("runtime", f"{plan.runtime}, driver docker"),
        ]

    def registry_network(self, plan: Plan) -> str:
        return plan.cluster  # the docker driver puts each profile on a network named after it

    def configures_containerd(self, plan: Plan) -> bool:
        return plan.runtime == "containerd"

    # -- operations (through the runner)

    def observe(self, runner: Runner, plan: Plan) -> Observed:
        res = runner.run(["minikube", "profile", "list", "-o", "json"], timeout=30, env=MINIKUBE_ENV)
        try:
            doc = json.loads(res.stdout) if res.stdout.strip() else None
        except json.JSONDecodeError:
            doc = None
        if not isinstance(doc, dict) or ("valid" not in doc and "No minikube profile" not in str(doc.get("error"))):
            # Without a trustworthy answer kdoctor cannot tell whether the cluster exists: change nothing.
            why = res.why() if not res.ok else "`minikube profile list -o json` printed no usable JSON"
            raise CommandFailed(res.argv, res.returncode or 1, why)
        for entry in (doc.get("valid") or []) + (doc.get("invalid") or []):
            if not isinstance(entry, dict) or entry.get("Name") != plan.cluster:  # exact name, never a substring
                continue
            cfg = entry.get("Config") or {}
            kc = cfg.get("KubernetesConfig") or {}
            nodes = cfg.get("Nodes") or [{}]
            status = str(entry.get("Status") or "")
            return Observed(
                exists=True,
                running=status in RUNNING,
                status=status,
                immutable={
                    "provider": self.name,
                    "cpus": cfg.get("CPUs"),
                    "memory_mb": cfg.get("Memory"),
                    "kubernetes_version": kc.get("KubernetesVersion"),
                    "runtime": kc.get("ContainerRuntime"),
                    "driver": cfg.get("Driver"),
                    "nodes": len(nodes),
                },
                addons={k for k, v in (cfg.get("Addons") or {}).items() if v is True},
                nodes=[plan.cluster] + [f"{plan.cluster}-m{i + 1:02d}" for i in range(1, len(nodes))],
            )
        return Observed(exists=False)

    def create(self, runner: Runner, plan: Plan, on_line: LineSink) -> None:
        require_ok(runner.stream(plan.create, on_line=on_line, timeout=1800, env=MINIKUBE_ENV), "minikube start")

    def start(self, runner: Runner, plan: Plan, observed: Observed, on_line: LineSink) -> None:
        # No size flags: minikube keeps an existing profile's sizes anyway (and warns).
        argv = ["minikube", "start", "-p", plan.cluster]
        require_ok(runner.stream(argv, on_line=on_line, timeout=1800, env=MINIKUBE_ENV), "minikube start")

    def upgrade(self, runner: Runner, plan: Plan, observed: Observed, on_line: LineSink) -> None:
        argv = ["minikube", "start", "-p", plan.cluster, f"--kubernetes-version={plan.kubernetes_version}"]
        require_ok(runner.stream(argv, on_line=on_line, timeout=1800, env=MINIKUBE_ENV), "minikube start (upgrade)")

    def stop(self, runner: Runner, plan: Plan, observed: Observed) -> None:
        require_ok(runner.run(["minikube", "stop", "-p", plan.cluster], timeout=300, env=MINIKUBE_ENV), "stop")

    def delete(self, runner: Runner, plan: Plan, on_line: LineSink) -> None:
        argv = ["minikube", "delete", "-p", plan.cluster]
        require_ok(runner.stream(argv, on_line=on_line, timeout=600, env=MINIKUBE_ENV), "minikube delete")

    def sync_addons(self, runner: Runner, plan: Plan, observed: Observed, previous: set[str]) -> list[str]:
        """The changes model.addon_changes decides (the same list `up --dry-run` shows), made one by one."""
        steps = []
        for addon, enable in addon_changes(plan, observed, previous):
            self._addon(runner, plan, addon, enable=enable)
            steps.append(f"{'enabled' if enable else 'disabled'} addon {addon}")
        return steps

    def _addon(self, runner: Runner, plan: Plan, addon: str, *, enable: bool) -> None:
        argv = ["minikube", "addons", "enable" if enable else "disable", addon, "-p", plan.cluster]
        require_ok(runner.run(argv, timeout=300, env=MINIKUBE_ENV), "minikube addons")
