"""Human output for `kdoctor why`."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

from kdoctor.images.judge import verdict as V
from kdoctor.images.judge.features import feature_facts
from kdoctor.images.judge.risks import rule_for_signature
from kdoctor.why.context import Attribution
from kdoctor.why.explain import Answer, ContainerAnswer
from kdoctor.why.signatures import Match, catalogue


def render(answer: Answer, console: Console) -> None:
    if answer.pod is None:
        _render_log(answer, console)
        return
    p = answer.pod
    console.print(
        f"[bold]Pod {escape(p.namespace)}/{escape(p.name)}[/] ({p.phase}) on node {escape(p.node or '?')} "
        f"({p.node_arch or '?'}); amd64 emulation: {answer.emulator}"
    )
    if not answer.failing:
        console.print("[green]No container is failing.[/]")
        return
    for ca in answer.failing:
        _render_container(ca, console)
    for note in p.notes:
        console.print(f"[dim]note: {escape(note)}[/]")


def _render_log(answer: Answer, console: Console) -> None:
    main = answer.attribution.main if answer.attribution else None
    if main is None:
        console.print(
            f"No known failure signature in this log (checked {len(catalogue())} signatures: "
            "Go emulation crashes, Rosetta and QEMU failures, CPU features, exec format error, pull errors)."
        )
        for m in answer.log_matches:  # supporting lines alone explain nothing, but say what was seen
            console.print(f"  seen: {escape(m.evidence)} ({escape(m.signature.meaning)})")
        return
    _signature(console, main)
    others = [m for m in answer.log_matches if m is not main]
    for m in others:
        console.print(f"  also: [bold]{escape(m.signature.id)}[/] — {escape(m.evidence)}")
    if answer.attribution:
        _attribution(console, answer.attribution)
    fixes = answer.log_fixes()
    if fixes:
        console.print("[bold]What to do:[/]")
        for i, f in enumerate(fixes, 1):
            console.print(f"  {i}. {escape(f)}")


def _render_container(ca: ContainerAnswer, console: Console, indent: str = "  ") -> None:
    c = ca.facts
    console.print(f"\n[bold]{c.kind} container {escape(c.name)}[/] ({escape(c.image)})")
    console.print(f"{indent}[bold]What happened:[/] {escape(ca.happened)}")
    for m in ca.matches:
        _signature(console, m, indent=indent)
    if ca.attribution and ca.matches:
        _attribution(console, ca.attribution, indent=indent)
    img = ca.image
    if img is not None:
        go = img.entrypoint.go_version if img.entrypoint and img.entrypoint.go_version else None
        ep = img.entrypoint.path if img.entrypoint and img.entrypoint.path else None
        console.print(f"{indent}[bold]The image:[/] {img.verdict} — {escape(img.reason)}")
        details = [f"{img.kind or '?'} with {', '.join(img.platforms) or 'no platforms'}"]
        if ep:
            details.append(f"entrypoint {ep}" + (f" (built with {go})" if go else ""))
        console.print(f"{indent}  {escape('; '.join(details))}")
    if not ca.explanation and not (img and img.verdict in (V.CRASH, V.UNSUPPORTED)):
        console.print(
            f"{indent}[yellow]No known signature matched[/]; checked the status, events and logs against "
            f"{len(catalogue())} signatures" + (" and the image's platforms" if img else "") + "."
        )
    if ca.fixes:
        console.print(f"{indent}[bold]What to do:[/]")
        for i, f in enumerate(ca.fixes, 1):
            console.print(f"{indent}  {i}. {escape(f)}")


def _signature(console: Console, m: Match, indent: str = "") -> None:
    s = m.signature
    label = "Why" if s.role == "cause" else "Seen"
    console.print(f"{indent}[bold]{label}:[/] [red]{escape(s.id)}[/] — {escape(s.meaning)}")
    for line in m.lines or (m.evidence,):
        console.print(f"{indent}  evidence ({escape(m.where)}): [dim]{escape(line)}[/]")
    if s.feature:
        facts = feature_facts(s.feature)
        console.print(f"{indent}  {escape(s.feature)} under Rosetta: {escape(facts['rosetta'])}")
        console.print(f"{indent}  {escape(s.feature)} under QEMU: {escape(facts['qemu'])}")
    console.print(f"{indent}  implicates: {s.implicates}; source: {escape(s.source)}")
    risk = rule_for_signature(s.id)
    if risk:
        console.print(
            f"{indent}  kdoctor images predicts this as risk rule [bold]{escape(risk)}[/] (checks/risks.yaml)"
        )


def _attribution(console: Console, att: Attribution, indent: str = "") -> None:
    code = "code of unknown architecture" if att.image_arch == "unknown" else f"{att.image_arch} code"
    machine = "a machine of unknown architecture" if att.node_arch == "unknown" else f"an {att.node_arch} machine"
    direction = f"{code} on {machine}"
    source = "from " + att.emulator_source if att.emulator_source != "none" else "neither the log nor the flags say"
    console.print(f"{indent}[bold]Emulator:[/] {att.emulator} ({escape(source)}); {escape(direction)}")
    for note in att.notes:
        console.print(f"{indent}  [dim]{escape(note)}[/]")
