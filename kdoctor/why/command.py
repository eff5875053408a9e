"""`kdoctor why POD`, end to end: the pod's facts through kubectl, the target its node gives, the image
verdict of each failing container, and the explanation."""

from __future__ import annotations

from kdoctor.facts.target import detect
from kdoctor.images.inputs.uses import ImageUse
from kdoctor.images.result import ImageResult
from kdoctor.images.scan import open_scanner
from kdoctor.platforms import arch_of
from kdoctor.runner import Runner
from kdoctor.why.explain import Answer, explain_pod
from kdoctor.why.gather import GatherError, gather_pod


def explain_pod_live(
    runner: Runner,
    pod: str,
    namespace: str,
    context: str | None,
    emulator: str,
    insecure: set[str],
    *,
    node_arch: str | None = None,
) -> Answer:
    """Raises GatherError (exit 3) when the pod cannot be read."""
    try:
        facts = gather_pod(runner, pod, namespace, context)
    except GatherError as exc:
        raise GatherError(f"cannot explain {namespace}/{pod}: {exc}") from None
    if node_arch:  # the caller knows better than the node object (or the node could not be read)
        facts.node_arch = arch_of(node_arch)
    target = detect(runner, want_platform=None, want_emulator=emulator, node_arch=facts.node_arch or None)
    failing = [c for c in facts.containers if c.failing]
    images: dict[str, ImageResult] = {}
    if failing:
        # deep: a failing container's image is worth the look inside (a native manifest with a foreign binary).
        with open_scanner(runner, target.platform, target.emulator, timeout=8, retries=1, deep=True) as scanner:
            for c in failing:
                images[c.name] = scanner.scan_one(ImageUse(c.image, c.command, c.args))
    return explain_pod(facts, images, target.emulator, target.source)
