"""kubectl: client version, current context, and — when the API answers quickly — server and nodes."""

from __future__ import annotations

import json
from typing import Any

from kdoctor.facts.model import KubectlFacts, NodeFacts, PodProblem
from kdoctor.runner import Runner

REQUEST_TIMEOUT = "3s"
FAILING_REASONS = {
    "CrashLoopBackOff",
    "ImagePullBackOff",
    "ErrImagePull",
    "CreateContainerError",
    "RunContainerError",
    "InvalidImageName",
    "Error",
    "OOMKilled",
}


def _nodes(data: dict[str, Any]) -> list[NodeFacts]:
    out = []
    for item in data.get("items") or []:
        status = item.get("status") or {}
        info = status.get("nodeInfo") or {}
        ready = None
        for cond in status.get("conditions") or []:
            if cond.get("type") == "Ready":
                ready = cond.get("status") == "True"
        out.append(
            NodeFacts(
                name=(item.get("metadata") or {}).get("name", "?"),
                arch=info.get("architecture"),
                ready=ready,
                kubelet_version=info.get("kubeletVersion"),
            )
        )
    return out


def failing_pods(data: dict[str, Any]) -> list[PodProblem]:
    out = []
    for pod in data.get("items") or []:
        meta = pod.get("metadata") or {}
        statuses = (pod.get("status") or {}).get("containerStatuses") or []
        statuses += (pod.get("status") or {}).get("initContainerStatuses") or []
        for cs in statuses:
            state = cs.get("state") or {}
            reason = (state.get("waiting") or {}).get("reason") or (state.get("terminated") or {}).get("reason")
            if reason in FAILING_REASONS:
                out.append(
                    PodProblem(
                        namespace=meta.get("namespace", "default"),
                        name=meta.get("name", "?"),
                        reason=reason,
                        container=cs.get("name"),
                        image=cs.get("image"),
                    )
                )
                break
    return out


def probe_kubectl(runner: Runner, *, timeout: float = 6.0) -> KubectlFacts:
    from concurrent.futures import ThreadPoolExecutor

    facts = KubectlFacts()
    version_argv = ["kubectl", "version", "-o", "json", f"--request-timeout={REQUEST_TIMEOUT}"]
    # Independent questions go out together: a slow API server costs one timeout, not three.
    with ThreadPoolExecutor(2) as pool:
        ctx_f = pool.submit(runner.run, ["kubectl", "config", "current-context"], timeout=timeout)
        ver_f = pool.submit(runner.run, version_argv, timeout=timeout)
        ctx, ver = ctx_f.result(), ver_f.result()
    facts.current_context = ctx.stdout.strip() or None if ctx.ok else None
    try:
        data = json.loads(ver.stdout) if ver.stdout.strip() else {}
    except json.JSONDecodeError:
        data = {}
    if not isinstance(data, dict):
        data = {}
    facts.client_version = (data.get("clientVersion") or {}).get("gitVersion")
    server = (data.get("serverVersion") or {}).get("gitVersion")
    if not server:
        lines = [ln for ln in ver.stderr.strip().splitlines() if ln.strip()]
        reason = lines[-1][:300] if lines else ver.why()
        facts.server_error = reason if facts.current_context else "no current context"
        return facts
    facts.server_reachable = True
    facts.server_version = server
    res = runner.run(
        ["kubectl", "get", "nodes,pods", "-A", "-o", "json", f"--request-timeout={REQUEST_TIMEOUT}"], timeout=timeout
    )
    if res.ok:
        try:
            doc = json.loads(res.stdout)
            items = doc.get("items") or []
            facts.nodes = _nodes({"items": [i for i in items if i.get("kind") == "Node"]})
            facts.failing_pods = failing_pods({"items": [i for i in items if i.get("kind") == "Pod"]})
        except (json.JSONDecodeError, AttributeError, TypeError):
            facts.server_error = "`kubectl get nodes,pods -o json` printed unparseable output"
    return facts


def probe_nodes(runner: Runner, context: str | None = None) -> str | None:
    """The architecture most of the current cluster's nodes report, or None."""
    argv = ["kubectl", "get", "nodes", "-o", "json", f"--request-timeout={REQUEST_TIMEOUT}"]
    if context:
        argv += ["--context", context]
    res = runner.run(argv, timeout=6)
    if not res.ok:
        return None
    try:
        return majority_arch(_nodes(json.loads(res.stdout)))
    except (json.JSONDecodeError, AttributeError, TypeError):
        return None


def majority_arch(nodes: list[NodeFacts]) -> str | None:
    """The architecture most nodes report (what a workload's pods will mostly land on)."""
    archs = [n.arch for n in nodes if n.arch]
    return max(set(archs), key=archs.count) if archs else None
