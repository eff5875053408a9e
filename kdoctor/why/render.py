"""Human output for `kdoctor why`, laid out like the other text reports (kdoctor/report/text.py): prose wrapped at
spaces with a hanging indent, evidence lines cut with an ellipsis to the terminal's width (whole in a pipe and in
JSON), never a word broken.
"""

from __future__ import annotations

from rich.console import Console

from kdoctor.images.judge import verdict as V
from kdoctor.images.judge.features import feature_facts
from kdoctor.images.judge.risks import rule_for_signature
from kdoctor.report.text import Layout, emit
from kdoctor.why.context import Attribution, article
from kdoctor.why.explain import Answer, ContainerAnswer
from kdoctor.why.signatures import Match, catalogue

# Where a direction came from, in words (Attribution.direction_source / image_source).
FROM = {
    "log": "the log",
    "given": "given",
    "signature": "implied by the signature",
    "emulator": "implied by the emulator: only foreign code is emulated",
    "log (the platform the pull asked for)": "the platform the pull asked for",
}


def render(answer: Answer, console: Console) -> None:
    emit(console, lines(answer, Layout.of(console)))


def lines(answer: Answer, layout: Layout) -> list[str]:
    if answer.pod is None:
        return _log(answer, layout)
    p = answer.pod
    out = layout.wrap(
        f"Pod {p.namespace}/{p.name} ({p.phase}) on node {p.node or '?'} ({p.node_arch or '?'}); "
        f"amd64 emulation: {answer.emulator}"
    )
    if not answer.failing:
        return [*out, "No container is failing."]
    for ca in answer.failing:
        out += _container(ca, layout)
    for note in p.notes:
        out += layout.wrap(note, indent="      ", first="note: ")
    return out


def _log(answer: Answer, layout: Layout) -> list[str]:
    main = answer.attribution.main if answer.attribution else None
    step = layout.wrap(answer.build_step.text(), indent="  ", first="Failing build step: ") if answer.build_step else []
    return step + _log_body(answer, layout, main)


def _log_body(answer: Answer, layout: Layout, main: Match | None) -> list[str]:
    if main is None:
        out = layout.wrap(
            f"No known failure signature in this log (checked {len(catalogue())} signatures: Go emulation crashes, "
            "Rosetta and QEMU failures, CPU features, exec format error, pull errors)."
        )
        for m in answer.log_matches:  # supporting lines alone explain nothing, but say what was seen
            out += layout.wrap(f"({m.signature.meaning})", indent="    ", first=layout.cut(f"  seen: {m.evidence}"))
        return out
    out = _signature(main, layout)
    for m in answer.log_matches:
        if m is not main:
            out.append(layout.cut(f"  also: {m.signature.id} — {m.evidence}"))
    if answer.attribution:
        out += _attribution(answer.attribution, layout)
    fixes = answer.log_fixes()
    if fixes:
        out.append("What to do:")
        for i, f in enumerate(fixes, 1):
            out += layout.wrap(f, indent="     ", first=f"  {i}. ")
    return out


def _container(ca: ContainerAnswer, layout: Layout, indent: str = "  ") -> list[str]:
    c = ca.facts
    out = ["", *layout.wrap(f"{c.kind} container {c.name} ({c.image})")]
    out += layout.wrap(ca.happened, indent=indent + "  ", first=f"{indent}What happened: ")
    for m in ca.matches:
        out += _signature(m, layout, indent=indent)
    if ca.attribution and ca.matches:
        out += _attribution(ca.attribution, layout, indent=indent)
    img = ca.image
    if img is not None:
        go = img.entrypoint.go_version if img.entrypoint and img.entrypoint.go_version else None
        ep = img.entrypoint.path if img.entrypoint and img.entrypoint.path else None
        out += layout.wrap(f"{img.verdict} — {img.reason}", indent=indent + "  ", first=f"{indent}The image: ")
        details = [f"{img.kind or '?'} with {', '.join(img.platforms) or 'no platforms'}"]
        if ep:
            details.append(f"entrypoint {ep}" + (f" (built with {go})" if go else ""))
        out += layout.wrap("; ".join(details), indent=indent + "  ")
    if not ca.explanation and not (img and img.verdict in (V.CRASH, V.UNSUPPORTED)):
        out += layout.wrap(
            f"No known signature matched; checked the status, events and logs against {len(catalogue())} signatures"
            + (" and the image's platforms" if img else "")
            + ".",
            indent=indent,
        )
    if ca.fixes:
        out.append(f"{indent}What to do:")
        for i, f in enumerate(ca.fixes, 1):
            out += layout.wrap(f, indent=f"{indent}     ", first=f"{indent}  {i}. ")
    return out


def _signature(m: Match, layout: Layout, indent: str = "") -> list[str]:
    s = m.signature
    label = "Why" if s.role == "cause" else "Seen"
    out = layout.wrap(s.meaning, indent=indent + "  ", first=f"{indent}{label}: {s.id} — ")
    for line in m.lines or (m.evidence,):
        # The log's own line: cut, not wrapped, so it reads as one line and the full text stays in --output json.
        out.append(layout.cut(f"{indent}  evidence ({m.where}): {line}"))
    if s.feature:
        facts = feature_facts(s.feature)
        out += layout.wrap(facts["rosetta"], indent=indent + "    ", first=f"{indent}  {s.feature} under Rosetta: ")
        out += layout.wrap(facts["qemu"], indent=indent + "    ", first=f"{indent}  {s.feature} under QEMU: ")
    out += layout.wrap(f"implicates: {s.implicates}; source: {s.source}", indent=indent + "    ", first=indent + "  ")
    risk = rule_for_signature(s.id)
    if risk:
        out += layout.wrap(
            f"kdoctor images predicts this as risk rule {risk} (checks/risks.yaml)", indent=indent + "    ",
            first=indent + "  ",
        )  # fmt: skip
    return out


def direction(att: Attribution) -> str | None:
    """Which way the code ran, each side with where it came from; None when neither side is known."""
    if att.image_arch == "unknown" and att.node_arch == "unknown":
        return None
    parts = []
    if att.image_arch != "unknown":
        parts.append(f"{att.image_arch} code ({FROM.get(att.image_source, att.image_source)})")
    if att.node_arch != "unknown":
        parts.append(
            f"on {article(att.node_arch)} {att.node_arch} machine "
            f"({FROM.get(att.direction_source, att.direction_source)})"
        )
    return " ".join(parts)


def _attribution(att: Attribution, layout: Layout, indent: str = "") -> list[str]:
    source = "from " + att.emulator_source if att.emulator_source != "none" else "neither the log nor the flags say"
    way = direction(att)
    text = f"{att.emulator} ({source})" + (f"; {way}" if way else "")
    out = layout.wrap(text, indent=indent + "  ", first=f"{indent}Emulator: ")
    for note in att.notes:
        out += layout.wrap(note, indent=indent + "  ")
    return out
