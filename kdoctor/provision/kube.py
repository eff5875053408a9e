"""What `up` asks the new cluster through kubectl: readiness, node architectures, recorded ConfigMaps."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from typing import Any

import yaml

from kdoctor.runner import CommandResult, Runner
from kdoctor.tools.kubectl import kubectl_error, node_rows, run_kubectl

RECORD_NAMESPACE = "kube-public"
RECORD_NAME = "kdoctor-profile"
# A readiness poll gives up on one request sooner than NORMAL: the next poll is only 2 s away.
POLL_TIMEOUT = 5.0


def wait_ready(
    runner: Runner,
    context: str,
    *,
    timeout: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[bool, str, list[dict[str, Any]]]:
    """Poll /readyz and node Ready conditions until both hold or `timeout` passes."""
    deadline = clock() + timeout
    why = "not checked"
    while True:
        ready = run_kubectl(runner, "get", "--raw", "/readyz", context=context, request_timeout=POLL_TIMEOUT)
        if ready.ok and ready.stdout.strip() == "ok":
            nodes = run_kubectl(runner, "get", "nodes", "-o", "json", context=context, request_timeout=POLL_TIMEOUT)
            try:
                items = json.loads(nodes.stdout).get("items") or [] if nodes.ok else []
            except (json.JSONDecodeError, AttributeError):
                items = []
            not_ready = [n.name for n in node_rows(items) if not n.ready]
            if items and not not_ready:
                return True, "", items
            if not nodes.ok:  # denied or timed out: not the same as "no nodes yet"
                why = f"nodes: {kubectl_error(nodes)}"
            else:
                why = f"nodes not Ready: {', '.join(not_ready)}" if items else "no nodes registered yet"
        else:
            why = f"/readyz: {readyz_reason(ready)}"
        if clock() >= deadline:
            return False, why, []
        sleep(2.0)


def readyz_reason(res: CommandResult) -> str:
    """Why /readyz did not answer `ok`: the checks it lists as failing (kube-apiserver's `[-]NAME failed: …` lines,
    which kubectl quotes with escaped newlines inside one InternalError line), else kubectl's own text."""
    if not res.ok:
        failing = re.findall(r"\[-\]([\w./-]+) failed", res.stderr)
        if failing:
            return f"failing checks: {', '.join(dict.fromkeys(failing))}"
        return kubectl_error(res)
    return res.stdout.strip()[:200] or "no answer"


def node_archs(items: list[dict[str, Any]]) -> dict[str, str]:
    return {n.name: n.arch or "?" for n in node_rows(items)}


def read_record(runner: Runner, context: str) -> dict[str, Any] | None:
    res = run_kubectl(runner, "get", "configmap", RECORD_NAME, "-n", RECORD_NAMESPACE, "-o", "json", context=context)
    if not res.ok:
        return None
    try:
        data = json.loads(res.stdout).get("data") or {}
        return json.loads(data.get("plan.json", "null"))
    except (json.JSONDecodeError, AttributeError, TypeError):
        return None


def apply_configmap(runner: Runner, context: str, namespace: str, name: str, data: dict[str, str]) -> str | None:
    """Create or update the ConfigMap; None when done, else kubectl's own reason (e.g. Forbidden)."""
    doc = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": namespace}, "data": data}
    res = run_kubectl(runner, "apply", "-f", "-", context=context, input=json.dumps(doc))
    return None if res.ok else kubectl_error(res)


def record_plan(runner: Runner, context: str, immutable: dict[str, Any], spec: dict[str, Any]) -> str | None:
    return apply_configmap(
        runner,
        context,
        RECORD_NAMESPACE,
        RECORD_NAME,
        {
            "plan.json": json.dumps(immutable, sort_keys=True),
            "profile.yaml": yaml.safe_dump(spec, sort_keys=False),
        },
    )
