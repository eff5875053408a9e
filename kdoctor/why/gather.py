"""What `kdoctor why POD` reads through kubectl: the pod, its events, bounded logs, its node."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from kdoctor.errors import IncompleteError
from kdoctor.runner import Runner
from kdoctor.tools.kubectl import FAILING_REASONS, NORMAL, kubectl_argv, kubectl_error

LOG_BYTES = 256 * 1024
LOG_TAIL = 400


class GatherError(IncompleteError):
    """The pod's facts could not be read (exit 3)."""


@dataclass
class ContainerFacts:
    name: str
    image: str
    kind: str  # "init" | "main"
    command: list[str] | None
    args: list[str] | None
    state: str  # running | waiting | terminated | unknown
    reason: str | None = None
    message: str | None = None
    exit_code: int | None = None
    last_reason: str | None = None
    last_exit_code: int | None = None
    restarts: int = 0
    logs_previous: str = ""
    logs_current: str = ""

    @property
    def failing(self) -> bool:
        return (
            self.reason in FAILING_REASONS
            or self.last_reason in FAILING_REASONS
            or (self.exit_code not in (None, 0))
            or (self.last_exit_code not in (None, 0) and self.restarts > 0)
        )


@dataclass
class PodFacts:
    name: str
    namespace: str
    phase: str
    node: str | None
    node_arch: str | None
    containers: list[ContainerFacts] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _json(runner: Runner, argv: list[str]) -> dict[str, Any]:
    res = runner.run(argv, timeout=2 * NORMAL)
    if not res.ok:
        raise GatherError(kubectl_error(res))
    try:
        doc = json.loads(res.stdout)
    except json.JSONDecodeError:
        raise GatherError(f"`{' '.join(argv[:4])}` printed output that is not JSON") from None
    if not isinstance(doc, dict):
        raise GatherError("kubectl printed JSON that is not an object")
    return doc


def _state(status: dict[str, Any]) -> tuple[str, str | None, str | None, int | None]:
    state = status.get("state") or {}
    for key in ("waiting", "terminated", "running"):
        if key in state:
            s = state[key] or {}
            return key, s.get("reason"), s.get("message"), s.get("exitCode")
    return "unknown", None, None, None


def gather_pod(runner: Runner, name: str, namespace: str, context: str | None) -> PodFacts:
    res = runner.run(
        kubectl_argv("get", "pod", name, "-n", namespace, "-o", "json", context=context), timeout=2 * NORMAL
    )
    if not res.ok:
        # Only the server's NotFound means the pod is gone; kubectl's own "context was not found" (a mistyped
        # --context) or a namespace typo's wording must reach the user as kubectl printed it.
        if f'Error from server (NotFound): pods "{name}" not found' in res.stderr:
            raise GatherError(f"pod {namespace}/{name} does not exist (any more?)")
        raise GatherError(kubectl_error(res))
    try:
        pod = json.loads(res.stdout)
    except json.JSONDecodeError:
        raise GatherError("`kubectl get pod -o json` printed output that is not JSON") from None
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    facts = PodFacts(
        name=name, namespace=namespace, phase=str(status.get("phase", "?")), node=spec.get("nodeName"), node_arch=None
    )
    statuses = {
        s.get("name"): s for s in (status.get("containerStatuses") or []) + (status.get("initContainerStatuses") or [])
    }
    for kind, key in (("init", "initContainers"), ("main", "containers")):
        for c in spec.get(key) or []:
            st = statuses.get(c.get("name"), {})
            state, reason, message, code = _state(st)
            last = (st.get("lastState") or {}).get("terminated") or {}
            facts.containers.append(
                ContainerFacts(
                    name=str(c.get("name")),
                    image=str(c.get("image", "")),
                    kind=kind,
                    command=c.get("command"),
                    args=c.get("args"),
                    state=state,
                    reason=reason,
                    message=message,
                    exit_code=code,
                    last_reason=last.get("reason"),
                    last_exit_code=last.get("exitCode"),
                    restarts=int(st.get("restartCount") or 0),
                )
            )
    try:
        events = _json(
            runner,
            kubectl_argv(
                "get",
                "events",
                "-n",
                namespace,
                "--field-selector",
                f"involvedObject.name={name}",
                "-o",
                "json",
                context=context,
            ),
        )
        facts.events = [f"{e.get('reason', '')}: {e.get('message', '')}" for e in events.get("items") or []]
    except GatherError as exc:
        facts.notes.append(f"events not read: {exc}")
    if facts.node:
        try:
            node = _json(runner, kubectl_argv("get", "node", facts.node, "-o", "json", context=context))
            facts.node_arch = ((node.get("status") or {}).get("nodeInfo") or {}).get("architecture")
        except GatherError as exc:
            facts.notes.append(f"node not read: {exc}")
    for c in facts.containers:
        if c.state == "waiting" and c.reason in ("ImagePullBackOff", "ErrImagePull"):
            continue  # nothing ran: no logs
        for previous in (True, False):
            if previous and not c.restarts and c.state != "terminated":
                continue
            argv = kubectl_argv(
                "logs",
                name,
                "-n",
                namespace,
                "-c",
                c.name,
                f"--tail={LOG_TAIL}",
                f"--limit-bytes={LOG_BYTES}",
                *(["--previous"] if previous else []),
                context=context,
            )
            out = runner.run(argv, timeout=2 * NORMAL)
            text = out.stdout[: LOG_BYTES * 2] if out.ok else ""
            if not out.ok:  # say so: an unread log is not an empty one
                which = "previous" if previous else "current"
                facts.notes.append(f"{which} log of {c.name} not read: {kubectl_error(out)}")
            if previous:
                c.logs_previous = text
            else:
                c.logs_current = text
    return facts
