"""The docker CLI: the argv prefix (as python-on-whales resolves binary, context and host) and node rows."""

from __future__ import annotations

import json

from kdoctor.runner import CommandResult, Runner

DOCKER_TIMEOUT = 8.0
KIND_LABEL = "io.x-k8s.kind.cluster"
MINIKUBE_LABEL = "name.minikube.sigs.k8s.io"
NODE_LABELS = (KIND_LABEL, MINIKUBE_LABEL)


def docker_argv(host: str | None = None) -> list[str]:
    """The argv prefix for the docker CLI, as python-on-whales would build it."""
    from python_on_whales import DockerClient
    from python_on_whales.client_config import ClientNotFoundError

    try:
        return [str(a) for a in DockerClient(host=host).client_config.docker_cmd]
    except ClientNotFoundError:
        return ["docker"] + (["--host", host] if host else [])


def run_docker(
    runner: Runner, args: list[str], timeout: float = DOCKER_TIMEOUT, input: str | None = None
) -> CommandResult:
    return runner.run([*docker_argv(), *args], timeout=timeout, input=input)


def ps_rows(stdout: str) -> list[tuple[dict[str, str], dict[str, object]]]:
    """(labels, row) for each line of `docker ps --format '{{json .}}'` output; garbage lines are skipped."""
    rows = []
    for line in stdout.splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if not isinstance(row, dict):
            continue
        labels = dict(kv.split("=", 1) for kv in str(row.get("Labels", "")).split(",") if "=" in kv)
        rows.append((labels, row))
    return rows


def node_rows(stdout: str) -> list[tuple[str, dict[str, str], dict[str, object]]]:
    """(cluster, labels, row) for each kind node container in `docker ps --format '{{json .}}'` output."""
    return [(labels[KIND_LABEL], labels, row) for labels, row in ps_rows(stdout) if labels.get(KIND_LABEL)]
