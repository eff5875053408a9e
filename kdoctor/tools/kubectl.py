"""kubectl: one argv builder, one timeout policy, and the parsing several verbs share.

Timeout policy: every call carries `--request-timeout` (kubectl's own bound on each API request) and a
process timeout twice that (kubectl may make a discovery request before the real one). Diagnose's probes
use QUICK so a slow API server costs the report little; everything else uses NORMAL.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from kdoctor.runner import CommandResult, Runner

QUICK = 3.0
NORMAL = 10.0

# Container states that mean "this container is failing" — for diagnose (KD706) and `why` alike.
FAILING_REASONS = frozenset(
    {
        "CrashLoopBackOff",
        "ImagePullBackOff",
        "ErrImagePull",
        "CreateContainerError",
        "RunContainerError",
        "ContainerCannotRun",
        "InvalidImageName",
        "Error",
        "OOMKilled",
    }
)


def kubectl_argv(*args: str, context: str | None = None, request_timeout: float | None = NORMAL) -> list[str]:
    # The verb first, global flags after it (kubectl takes them anywhere): a failed call is then described as
    # `kubectl get --raw …`, not `kubectl --context NAME` (CommandResult.why() names argv[1:3]).
    argv = ["kubectl", *args, *(["--context", context] if context else [])]
    if request_timeout is not None:
        argv.append(f"--request-timeout={request_timeout:g}s")
    return argv


def run_kubectl(
    runner: Runner,
    *args: str,
    context: str | None = None,
    request_timeout: float = NORMAL,
    input: str | None = None,
) -> CommandResult:
    return runner.run(
        kubectl_argv(*args, context=context, request_timeout=request_timeout),
        timeout=2 * request_timeout,
        input=input,
    )


# klog's line prefix (severity, date, time, thread, file:line): kubectl's diagnostic noise before its own message.
_KLOG = re.compile(r"^[IWEF]\d{4} \d\d:\d\d:\d\d")
# What kubectl prints when its --request-timeout (or the server's own deadline) runs out; seen with kubectl 1.30 and
# 1.32 against tests/apiserver (tests/test_apiserver.py, TIMEOUT_TEXTS) and in kube-apiserver's 504 Status.
_TIMEOUT_MARKS = (
    "Client.Timeout exceeded",
    "context deadline exceeded",
    "i/o timeout",
    "TLS handshake timeout",
    "Error from server (Timeout)",
    "timed out",  # kdoctor's own process timeout, as CommandResult.why() words it
)


def kubectl_error(res: CommandResult) -> str:
    """kubectl's own error text for a failed call: its last message line (klog lines skipped), e.g.
    `Error from server (Forbidden): nodes is forbidden: User "…" cannot list resource "nodes" …`."""
    if res.not_found or res.timed_out:
        return res.why()
    lines = [ln.strip() for ln in res.stderr.strip().splitlines() if ln.strip()]
    own = [ln for ln in lines if not _KLOG.match(ln)] or lines
    return own[-1][:300] if own else res.why()


def is_timeout(error: str) -> bool:
    """Whether an error text from `kubectl_error` says a deadline ran out (kdoctor's or kubectl's own)."""
    return any(mark in error for mark in _TIMEOUT_MARKS)


@dataclass(frozen=True)
class NodeRow:
    name: str
    arch: str | None
    ready: bool | None
    kubelet_version: str | None


def node_rows(items: list[Any]) -> list[NodeRow]:
    """Nodes from the `items` of `kubectl get nodes -o json` (tolerant of missing or odd fields)."""
    out = []
    for item in items:
        if not isinstance(item, dict):
            continue
        status = item.get("status") or {}
        info = status.get("nodeInfo") or {}
        ready = None
        for cond in status.get("conditions") or []:
            if isinstance(cond, dict) and cond.get("type") == "Ready":
                ready = cond.get("status") == "True"
        out.append(
            NodeRow(
                name=str((item.get("metadata") or {}).get("name", "?")),
                arch=info.get("architecture"),
                ready=ready,
                kubelet_version=info.get("kubeletVersion"),
            )
        )
    return out


def majority_arch(archs: list[str | None]) -> str | None:
    """The architecture most nodes report (what a workload's pods will mostly land on)."""
    known = [a for a in archs if a]
    return max(sorted(set(known)), key=known.count) if known else None


def container_statuses(pod: dict[str, Any]) -> Iterator[dict[str, Any]]:
    status = pod.get("status") or {}
    for key in ("containerStatuses", "initContainerStatuses"):
        for cs in status.get(key) or []:
            if isinstance(cs, dict):
                yield cs


def state_reason(cs: dict[str, Any]) -> str | None:
    state = cs.get("state") or {}
    return (state.get("waiting") or {}).get("reason") or (state.get("terminated") or {}).get("reason")
