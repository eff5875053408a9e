"""kubectl: client version, current context, and — when the API answers quickly — server, nodes, failing pods."""

from __future__ import annotations

import json
from typing import Any

from kdoctor.facts.model import KubectlFacts, NodeFacts, PodProblem, ProbeRecord, ProbeStatus, failure_status
from kdoctor.runner import CommandResult, Runner
from kdoctor.tools.kubectl import (
    FAILING_REASONS,
    QUICK,
    container_statuses,
    is_timeout,
    kubectl_argv,
    kubectl_error,
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


def _items(res: CommandResult, what: str) -> tuple[list[Any], str | None]:
    """The `items` of a `kubectl get … -o json`, or why there are none to trust. On a denial kubectl still prints
    an empty List and exits 1: only the exit status tells "none" from "could not look"."""
    if not res.ok:
        return [], kubectl_error(res)
    try:
        items = json.loads(res.stdout).get("items")
    except (json.JSONDecodeError, AttributeError):
        items = None
    if not isinstance(items, list):
        return [], f"`kubectl get {what} -o json` printed unparseable output"
    return [i for i in items if isinstance(i, dict)], None


def probe_kubectl(runner: Runner) -> KubectlFacts:
    from concurrent.futures import ThreadPoolExecutor

    facts = KubectlFacts()
    # Independent questions go out together: a slow API server costs one timeout, not four. Nodes and pods are
    # separate calls so that a denial (or a timeout) of one is recorded as that list's failure and does not hide
    # the other.
    with ThreadPoolExecutor(4) as pool:
        ctx_f = pool.submit(
            runner.run, kubectl_argv("config", "current-context", request_timeout=None), timeout=2 * QUICK
        )
        ver_f = pool.submit(run_kubectl, runner, "version", "-o", "json", request_timeout=QUICK)
        nodes_f = pool.submit(run_kubectl, runner, "get", "nodes", "-o", "json", request_timeout=QUICK)
        pods_f = pool.submit(run_kubectl, runner, "get", "pods", "-A", "-o", "json", request_timeout=QUICK)
        ctx, ver, nodes, pods = ctx_f.result(), ver_f.result(), nodes_f.result(), pods_f.result()
    facts.current_context = ctx.stdout.strip() or None if ctx.ok else None
    if not ctx.ok and "current-context is not set" not in ctx.stderr:
        facts.failed = kubectl_error(ctx)
    try:
        data = json.loads(ver.stdout) if ver.stdout.strip() else {}
    except json.JSONDecodeError:
        data = {}
    if not isinstance(data, dict):
        data = {}
    facts.client_version = (data.get("clientVersion") or {}).get("gitVersion")
    server = (data.get("serverVersion") or {}).get("gitVersion")
    if not server:
        reason = kubectl_error(ver) if not ver.ok else "`kubectl version -o json` printed no server version"
        facts.server_error = reason if facts.current_context else "no current context"
        if facts.current_context:  # a cluster is configured but was not read: its lists were not seen either
            facts.nodes_error = facts.pods_error = reason
        return facts
    facts.server_reachable = True
    facts.server_version = server
    node_items, facts.nodes_error = _items(nodes, "nodes")
    pod_items, facts.pods_error = _items(pods, "pods")
    facts.nodes = nodes_from(node_items)
    facts.failing_pods = failing_pods({"items": pod_items})
    return facts


def probe_node_arch(runner: Runner, context: str | None = None) -> tuple[str | None, str | None]:
    """(the architecture most of the cluster's nodes report, or None; why the nodes could not be read, or None)."""
    res = run_kubectl(runner, "get", "nodes", "-o", "json", context=context, request_timeout=QUICK)
    if not res.ok:
        return None, kubectl_error(res)
    try:
        arch = majority_arch([n.arch for n in node_rows(json.loads(res.stdout).get("items") or [])])
    except (json.JSONDecodeError, AttributeError, TypeError):
        return None, "`kubectl get nodes` printed no node list kdoctor could read"
    return arch, None if arch else "the nodes report no architecture"


def list_records(k: KubectlFacts | None) -> dict[str, ProbeRecord]:
    """Probe records for the node and pod lists (`kubectl.nodes`, `kubectl.pods`), with kubectl's own text.

    A list that could not be read while the server answered is a failed probe (error, or timeout when a deadline
    ran out); when the whole server did not answer it is `missing` (KD704 reports the server itself); with no
    current context there is no cluster and no record."""
    records: dict[str, ProbeRecord] = {}
    if k is None or not k.current_context:
        return records
    for what, error in (("nodes", k.nodes_error), ("pods", k.pods_error)):
        if error is None:
            status = ProbeStatus.OK
        elif not k.server_reachable:
            status = ProbeStatus.MISSING
        else:
            status = ProbeStatus.TIMEOUT if is_timeout(error) else failure_status(error)
        records[f"kubectl.{what}"] = ProbeRecord(status=status, reason=error)
    return records
