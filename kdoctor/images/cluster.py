"""Diagnose's cluster-images phase: the current cluster's workload images, judged within a time budget.

The result is the facts snapshot's `images` section, which KD801 reads.
"""

from __future__ import annotations

from kdoctor.facts.model import ImageFact, ImagesFacts
from kdoctor.images.inputs.sources import uses_from_cluster
from kdoctor.images.scan import open_scanner
from kdoctor.platforms import Platform
from kdoctor.runner import Runner


class ClusterUnreadable(Exception):
    """The cluster's workloads could not be listed; the message is kubectl's reason."""


def judge_cluster_images(
    runner: Runner, target: Platform, emulator: str, *, budget: float, deep: bool = False, offline: bool = False
) -> ImagesFacts:
    """KD801's facts: the cluster's images judged within `budget` (`offline`: from the local cache only)."""
    uses, err = uses_from_cluster(runner, context=None, namespace=None, all_namespaces=True, timeout=budget)
    if err:
        raise ClusterUnreadable(err)
    with open_scanner(
        runner, target, emulator, timeout=min(5.0, budget), retries=1, suggest=False, deep=deep, offline=offline
    ) as scanner:
        results = scanner.scan(uses, budget=budget)
    return ImagesFacts(
        platform=str(target),
        emulator=emulator,
        budget_s=budget,
        images=[
            ImageFact(
                ref=r.ref,
                verdict=r.verdict,
                reason=r.reason,
                go_version=r.entrypoint.go_version if r.entrypoint else None,
                suggestion=r.suggestion,
                risks=[x.rule.id for x in r.risks],
                sources=r.sources[:5],
            )
            for r in results
        ],
    )
