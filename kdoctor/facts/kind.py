"""kind clusters and their node containers."""

from __future__ import annotations

from kdoctor.facts.model import KindCluster, KindFacts, KindNode
from kdoctor.runner import Runner
from kdoctor.tools.docker import KIND_LABEL, node_rows, run_docker


def probe_kind(runner: Runner, *, timeout: float = 10.0) -> KindFacts:
    facts = KindFacts()
    clusters: dict[str, KindCluster] = {}
    if runner.which("kind"):
        res = runner.run(["kind", "get", "clusters"], timeout=timeout)
        if not res.ok:
            facts.errors.append(res.why())
            facts.failed = res.why()
        else:
            for line in res.stdout.splitlines():
                name = line.strip()
                # "No kind clusters found." goes to stderr; anything with spaces is not a name.
                if name and " " not in name:
                    clusters[name] = KindCluster(name=name)
    ps = run_docker(runner, ["ps", "-a", "--filter", f"label={KIND_LABEL}", "--format", "{{json .}}"], timeout=timeout)
    if not ps.ok and not ps.not_found:
        facts.errors.append(ps.why())
        facts.failed = facts.failed or ps.why()
    if ps.ok:
        for cluster, labels, row in node_rows(ps.stdout):
            node = KindNode(
                name=str(row.get("Names", "")),
                image=str(row["Image"]) if row.get("Image") else None,
                state=str(row["State"]) if row.get("State") else None,
                role=labels.get("io.x-k8s.kind.role"),
            )
            clusters.setdefault(cluster, KindCluster(name=cluster)).nodes.append(node)
    facts.clusters = sorted(clusters.values(), key=lambda c: c.name)
    return facts
