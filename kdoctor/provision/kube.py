"""What `up` asks the new cluster through kubectl: readiness, node architectures, recorded ConfigMaps."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import yaml

from kdoctor.runner import Runner

RECORD_NAMESPACE = "kube-public"
RECORD_NAME = "kdoctor-profile"


def _kubectl(context: str, *args: str) -> list[str]:
    return ["kubectl", "--context", context, *args]


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
        ready = runner.run(_kubectl(context, "get", "--raw", "/readyz", "--request-timeout=5s"), timeout=10)
        if ready.ok and ready.stdout.strip() == "ok":
            nodes = runner.run(_kubectl(context, "get", "nodes", "-o", "json", "--request-timeout=5s"), timeout=10)
            try:
                items = json.loads(nodes.stdout).get("items") or [] if nodes.ok else []
            except (json.JSONDecodeError, AttributeError):
                items = []
            not_ready = [
                (n.get("metadata") or {}).get("name", "?")
                for n in items
                if not any(
                    c.get("type") == "Ready" and c.get("status") == "True"
                    for c in (n.get("status") or {}).get("conditions") or []
                )
            ]
            if items and not not_ready:
                return True, "", items
            why = f"nodes not Ready: {', '.join(not_ready)}" if items else "no nodes registered yet"
        else:
            why = f"/readyz: {(ready.stdout or ready.why()).strip()[:200]}"
        if clock() >= deadline:
            return False, why, []
        sleep(2.0)


def node_archs(items: list[dict[str, Any]]) -> dict[str, str]:
    return {
        (n.get("metadata") or {}).get("name", "?"): ((n.get("status") or {}).get("nodeInfo") or {}).get(
            "architecture", "?"
        )
        for n in items
    }


def read_record(runner: Runner, context: str) -> dict[str, Any] | None:
    res = runner.run(
        _kubectl(
            context, "get", "configmap", RECORD_NAME, "-n", RECORD_NAMESPACE, "-o", "json", "--request-timeout=5s"
        ),
        timeout=10,
    )
    if not res.ok:
        return None
    try:
        data = json.loads(res.stdout).get("data") or {}
        return json.loads(data.get("plan.json", "null"))
    except (json.JSONDecodeError, AttributeError, TypeError):
        return None


def apply_configmap(runner: Runner, context: str, namespace: str, name: str, data: dict[str, str]) -> bool:
    doc = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": namespace}, "data": data}
    res = runner.run(_kubectl(context, "apply", "-f", "-"), input=json.dumps(doc), timeout=30)
    return res.ok


def record_plan(runner: Runner, context: str, immutable: dict[str, Any], spec: dict[str, Any]) -> bool:
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
