"""kubectl: client version, current context, and — when the API answers quickly — server, nodes, failing pods."""

from __future__ import annotations

import json
from typing import Any

from kdoctor.facts.model import KubectlFacts, NodeFacts, PodProblem
from kdoctor.runner import Runner
from kdoctor.tools.kubectl import (
    FAILING_REASONS,
    QUICK,
    container_statuses,
    kubectl_argv,
    majority_arch,
    node_rows,
    run_kubectl,
    state_reason,
)


def nodes_from(items: list[Any]) -> list[NodeFacts]:
    return [
        NodeFacts(name=n.name, arch=n.arch, ready=n.ready, kubelet_version=n.kubelet_version) for n in node_rows(items)
    ]


def failing_pods(data: dict[str, Any]) -> list[PodProblem]:
    out = []
    for pod in data.get("items") or []:
        meta = pod.get("metadata") or {}
        for cs in container_statuses(pod):
            reason = state_reason(cs)
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


def probe_kubectl(runner: Runner) -> KubectlFacts:
    from concurrent.futures import ThreadPoolExecutor

    facts = KubectlFacts()
    # Independent questions go out together: a slow API server costs one timeout, not three.
    with ThreadPoolExecutor(2) as pool:
        ctx_f = pool.submit(
            runner.run, kubectl_argv("config", "current-context", request_timeout=None), timeout=2 * QUICK
        )
        ver_f = pool.submit(run_kubectl, runner, "version", "-o", "json", request_timeout=QUICK)
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
    res = run_kubectl(runner, "get", "nodes,pods", "-A", "-o", "json", request_timeout=QUICK)
    if res.ok:
        try:
            doc = json.loads(res.stdout)
            items = doc.get("items") or []
            facts.nodes = nodes_from([i for i in items if i.get("kind") == "Node"])
            facts.failing_pods = failing_pods({"items": [i for i in items if i.get("kind") == "Pod"]})
        except (json.JSONDecodeError, AttributeError, TypeError):
            facts.list_error = "`kubectl get nodes,pods -o json` printed unparseable output"
    else:
        # Forbidden or a timeout here must not read as "no nodes, no failing pods" (issue 12).
        lines = [ln for ln in res.stderr.strip().splitlines() if ln.strip()]
        facts.list_error = (lines[-1] if lines else res.why())[:300]
    return facts


def probe_node_arch(runner: Runner, context: str | None = None) -> str | None:
    """The architecture most of the cluster's nodes report, or None."""
    res = run_kubectl(runner, "get", "nodes", "-o", "json", context=context, request_timeout=QUICK)
    if not res.ok:
        return None
    try:
        return majority_arch([n.arch for n in node_rows(json.loads(res.stdout).get("items") or [])])
    except (json.JSONDecodeError, AttributeError, TypeError):
        return None
