"""kind clusters and their node containers."""

from __future__ import annotations

import json

from kdoctor.facts.engine import run_docker
from kdoctor.facts.model import KindCluster, KindFacts, KindNode
from kdoctor.runner import Runner

KIND_LABEL = "io.x-k8s.kind.cluster"


def node_rows(stdout: str) -> list[tuple[str, dict[str, str], dict[str, object]]]:
    """(cluster, labels, row) for each kind node container in `docker ps --format '{{json .}}'` output."""
    rows = []
    for line in stdout.splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if not isinstance(row, dict):
            continue
        labels = dict(kv.split("=", 1) for kv in str(row.get("Labels", "")).split(",") if "=" in kv)
        if labels.get(KIND_LABEL):
            rows.append((labels[KIND_LABEL], labels, row))
    return rows


def probe_kind(runner: Runner, *, timeout: float = 10.0) -> KindFacts:
    facts = KindFacts()
    clusters: dict[str, KindCluster] = {}
    if runner.which("kind"):
        res = runner.run(["kind", "get", "clusters"], timeout=timeout)
        if not res.ok:
            facts.errors.append(res.why())
        else:
            for line in res.stdout.splitlines():
                name = line.strip()
                # "No kind clusters found." goes to stderr; anything with spaces is not a name.
                if name and " " not in name:
                    clusters[name] = KindCluster(name=name)
    ps = run_docker(runner, ["ps", "-a", "--filter", f"label={KIND_LABEL}", "--format", "{{json .}}"], timeout=timeout)
    if not ps.ok and not ps.not_found:
        facts.errors.append(ps.why())
    if ps.ok:
        for cluster, labels, row in node_rows(ps.stdout):
            node = KindNode(
                name=str(row.get("Names", "")),
                image=row.get("Image"),  # type: ignore[arg-type]
                state=row.get("State"),  # type: ignore[arg-type]
                role=labels.get("io.x-k8s.kind.role"),
            )
            clusters.setdefault(cluster, KindCluster(name=cluster)).nodes.append(node)
    facts.clusters = sorted(clusters.values(), key=lambda c: c.name)
    return facts
