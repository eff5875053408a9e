"""minikube and kind behind one small interface; every call goes through the runner."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from typing import Any, Protocol

from kdoctor.errors import CommandFailed
from kdoctor.provision.plan import Plan
from kdoctor.runner import LineSink, Runner
from kdoctor.tools.docker import docker_argv

MINIKUBE_ENV = {"MINIKUBE_IN_STYLE": "false"}
RUNNING = {"OK", "Running", "HAppy", "Warning", "Degraded"}


@dataclass
class Observed:
    exists: bool
    running: bool = False
    status: str = ""
    immutable: dict[str, Any] = field(default_factory=dict)  # what the tool itself reports
    addons: set[str] = field(default_factory=set)
    nodes: list[str] = field(default_factory=list)


class Provider(Protocol):
    def observe(self, plan: Plan) -> Observed: ...
    def create(self, plan: Plan, on_line: LineSink) -> None: ...
    def start(self, plan: Plan, observed: Observed, on_line: LineSink) -> None: ...
    def stop(self, plan: Plan, observed: Observed) -> None: ...
    def delete(self, plan: Plan, on_line: LineSink) -> None: ...
    def enable_addon(self, plan: Plan, addon: str, enable: bool) -> None: ...


def _check(res: Any, what: str) -> None:
    if not res.ok:
        raise CommandFailed(res.argv, res.returncode, res.stderr or res.stdout or what)


@dataclass
class Minikube:
    runner: Runner

    def observe(self, plan: Plan) -> Observed:
        res = self.runner.run(["minikube", "profile", "list", "-o", "json"], timeout=30, env=MINIKUBE_ENV)
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
                    "provider": "minikube",
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

    def create(self, plan: Plan, on_line: LineSink) -> None:
        _check(self.runner.stream(plan.create, on_line=on_line, timeout=1800, env=MINIKUBE_ENV), "minikube start")

    def start(self, plan: Plan, observed: Observed, on_line: LineSink) -> None:
        # No size flags: minikube keeps an existing profile's sizes anyway (and warns).
        argv = ["minikube", "start", "-p", plan.cluster]
        _check(self.runner.stream(argv, on_line=on_line, timeout=1800, env=MINIKUBE_ENV), "minikube start")

    def stop(self, plan: Plan, observed: Observed) -> None:
        _check(self.runner.run(["minikube", "stop", "-p", plan.cluster], timeout=300, env=MINIKUBE_ENV), "stop")

    def delete(self, plan: Plan, on_line: LineSink) -> None:
        argv = ["minikube", "delete", "-p", plan.cluster]
        _check(self.runner.stream(argv, on_line=on_line, timeout=600, env=MINIKUBE_ENV), "minikube delete")

    def enable_addon(self, plan: Plan, addon: str, enable: bool) -> None:
        argv = ["minikube", "addons", "enable" if enable else "disable", addon, "-p", plan.cluster]
        _check(self.runner.run(argv, timeout=300, env=MINIKUBE_ENV), "minikube addons")


@dataclass
class Kind:
    runner: Runner

    def _nodes(self, name: str) -> list[dict[str, Any]]:
        from kdoctor.tools.docker import node_rows

        res = self.runner.run(
            [*docker_argv(), "ps", "-a", "--filter", f"label=io.x-k8s.kind.cluster={name}", "--format", "{{json .}}"],
            timeout=30,
        )
        return [row for cluster, _, row in node_rows(res.stdout) if cluster == name]

    def observe(self, plan: Plan) -> Observed:
        res = self.runner.run(["kind", "get", "clusters"], timeout=30)
        if not res.ok:
            raise CommandFailed(res.argv, res.returncode, res.why())
        names = {line.strip() for line in res.stdout.splitlines()}
        if plan.cluster not in names:  # exact name
            return Observed(exists=False)
        rows = self._nodes(plan.cluster)
        images = {str(r.get("Image")) for r in rows}
        running = bool(rows) and all(r.get("State") == "running" for r in rows)
        return Observed(
            exists=True,
            running=running,
            status="Running" if running else "Stopped",
            immutable={
                "provider": "kind",
                "nodes": len(rows) or None,
                "node_image": images.pop() if len(images) == 1 else None,
            },
            nodes=sorted(str(r.get("Names")) for r in rows),
        )

    def create(self, plan: Plan, on_line: LineSink) -> None:
        fd, path = tempfile.mkstemp(prefix="kdoctor-kind-", suffix=".yaml")
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write(plan.kind_config or "")
            argv = [path if a == "<kind-config.yaml>" else a for a in plan.create]
            _check(self.runner.stream(argv, on_line=on_line, timeout=1800), "kind create cluster")
        finally:
            os.unlink(path)

    def start(self, plan: Plan, observed: Observed, on_line: LineSink) -> None:
        # kind has no start/stop; its nodes are containers.
        _check(self.runner.run([*docker_argv(), "start", *observed.nodes], timeout=120), "docker start")

    def stop(self, plan: Plan, observed: Observed) -> None:
        _check(self.runner.run([*docker_argv(), "stop", *observed.nodes], timeout=120), "docker stop")

    def delete(self, plan: Plan, on_line: LineSink) -> None:
        argv = ["kind", "delete", "cluster", "--name", plan.cluster]
        _check(self.runner.stream(argv, on_line=on_line, timeout=600), "kind delete cluster")

    def enable_addon(self, plan: Plan, addon: str, enable: bool) -> None:
        raise CommandFailed(("kind",), 1, "kind has no addons")


def provider_for(plan: Plan, runner: Runner) -> Provider:
    return Minikube(runner) if plan.provider == "minikube" else Kind(runner)
