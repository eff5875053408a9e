"""The local registry: a registry container on the host, wired into the cluster as kind documents
(containerd certs.d hosts.toml per node, the container on the cluster's network) and advertised with
the KEP-1755 `local-registry-hosting` ConfigMap. For minikube the same host registry is used instead
of the registry addon, as the reference recommends (kubernetes/minikube#15647)."""

from __future__ import annotations

import json

from kdoctor.errors import CommandFailed
from kdoctor.provision.kube import apply_configmap
from kdoctor.provision.model import Plan
from kdoctor.provision.providers import provider_for
from kdoctor.runner import Runner
from kdoctor.tools.docker import docker_argv

ROLE_LABEL = "dev.kdoctor.role=registry"


def _docker(runner: Runner, *args: str, input: str | None = None) -> tuple[bool, str]:
    res = runner.run([*docker_argv(), *args], timeout=120, input=input)
    return res.ok, (res.stdout if res.ok else res.why())


def registry_action(runner: Runner, plan: Plan) -> str:
    """What ensure_registry would do to the container: create | start | unchanged (read-only: docker inspect)."""
    reg = plan.registry or {}
    ok, out = _docker(runner, "inspect", "--format", "{{json .State.Running}}", reg.get("name", ""))
    if not ok:
        return "create"
    return "unchanged" if out.strip() == "true" else "start"


def ensure_registry(runner: Runner, plan: Plan) -> list[str]:
    """Idempotent: create or start the container, connect it, configure nodes. Returns what it did."""
    reg = plan.registry
    if not reg:
        return []
    done: list[str] = []
    name, port = reg["name"], reg["port"]
    ok, out = _docker(runner, "inspect", "--format", "{{json .State.Running}}", name)
    if not ok:
        ok, out = _docker(
            runner,
            "run",
            "-d",
            "--restart=always",
            "-p",
            f"127.0.0.1:{port}:5000",
            "--name",
            name,
            "--label",
            ROLE_LABEL,
            reg["image"],
        )
        if not ok:
            raise CommandFailed(("docker", "run"), 1, out)
        done.append(f"started registry container {name} on localhost:{port}")
    elif out.strip() != "true":
        ok, out = _docker(runner, "start", name)
        if not ok:
            raise CommandFailed(("docker", "start"), 1, out)
        done.append(f"restarted registry container {name}")
    network = provider_for(plan.provider).registry_network(plan)
    ok, out = _docker(runner, "inspect", "--format", "{{json .NetworkSettings.Networks}}", name)
    try:
        networks = json.loads(out) if ok else {}
    except json.JSONDecodeError:
        networks = {}
    if network not in (networks or {}):
        ok, out = _docker(runner, "network", "connect", network, name)
        if not ok:
            raise CommandFailed(("docker", "network", "connect"), 1, out)
        done.append(f"connected {name} to the {network} network")
    return done


def configure_nodes(runner: Runner, plan: Plan, nodes: list[str]) -> None:
    """containerd's certs.d: pulls of localhost:PORT/… go to the registry container inside the network."""
    reg = plan.registry
    if not reg or not provider_for(plan.provider).configures_containerd(plan):
        return
    directory = f"/etc/containerd/certs.d/localhost:{reg['port']}"
    hosts = f'[host."http://{reg["in_cluster"]}"]\n'
    for node in nodes:
        ok, out = _docker(runner, "exec", node, "mkdir", "-p", directory)
        if ok:
            ok, out = _docker(runner, "exec", "-i", node, "tee", f"{directory}/hosts.toml", input=hosts)
        if not ok:
            raise CommandFailed(("docker", "exec", node), 1, out)


def advertise(runner: Runner, plan: Plan) -> str | None:
    """The KEP-1755 ConfigMap; None when written (or no registry), else kubectl's reason."""
    reg = plan.registry
    if not reg:
        return None
    hosting = f'host: "{reg["host"]}"\nhelp: "https://kind.sigs.k8s.io/docs/user/local-registry/"\n'
    return apply_configmap(
        runner, plan.context, "kube-public", "local-registry-hosting", {"localRegistryHosting.v1": hosting}
    )
