"""KD8xx: the images the current cluster runs, judged for its nodes and emulator."""

from __future__ import annotations

from collections.abc import Iterator

from kdoctor.checks.catalogue import Ctx, check
from kdoctor.facts.model import Facts
from kdoctor.report.model import Finding, Severity
from kdoctor.vocabulary import Verdict

SEVERITY: dict[str, Severity] = {
    Verdict.CRASH: Severity.ERROR,
    Verdict.UNSUPPORTED: Severity.ERROR,
    Verdict.UNKNOWN: Severity.INFO,
    Verdict.EMULATED: Severity.INFO,
}


@check("KD801", needs=("images",))
def cluster_images(facts: Facts, c: Ctx) -> Iterator[Finding]:
    im = facts.images
    assert im is not None
    bad = 0
    for img in im.images:
        sev = SEVERITY.get(img.verdict)
        if sev is None:
            continue
        bad += sev is Severity.ERROR
        where = f" (used by {img.sources[0]})" if img.sources else ""
        fix = img.suggestion or c.entry.fix
        yield c.problem(
            f"{img.ref}: {img.verdict} — {img.reason}{where}",
            subject=img.ref,
            severity=sev,
            fix=fix,
            commands=(f"kdoctor images {img.ref}",),
            data={"verdict": img.verdict, "go_version": img.go_version, "risks": img.risks},
        )
    counts: dict[str, int] = {}
    for img in im.images:
        counts[img.verdict] = counts.get(img.verdict, 0) + 1
    summary = ", ".join(f"{n} {v}" for v, n in sorted(counts.items())) or "no images"
    if not bad:
        yield c.ok(f"{len(im.images)} image(s) for {im.platform} under {im.emulator}: {summary}")
