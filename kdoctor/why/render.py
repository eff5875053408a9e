"""Human output for `kdoctor why`."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

from kdoctor.why.explain import Answer
from kdoctor.why.signatures import catalogue


def render(answer: Answer, console: Console) -> None:
    if answer.pod is None:
        if not answer.log_matches:
            console.print(
                f"No known failure signature in this log (checked {len(catalogue())} signatures: "
                "Go emulation crashes, exec format error, pull errors, QEMU and Rosetta failures)."
            )
            return
        for m in answer.log_matches:
            _signature(console, m)
            for i, f in enumerate(m.signature.fixes, 1):
                console.print(f"  {i}. {escape(f)}")
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
        c = ca.facts
        console.print(f"\n[bold]{c.kind} container {escape(c.name)}[/] ({escape(c.image)})")
        console.print(f"  [bold]What happened:[/] {escape(ca.happened)}")
        for m in ca.matches:
            _signature(console, m, indent="  ")
        img = ca.image
        if img is not None:
            go = img.entrypoint.go_version if img.entrypoint and img.entrypoint.go_version else None
            ep = img.entrypoint.path if img.entrypoint and img.entrypoint.path else None
            console.print(f"  [bold]The image:[/] {img.verdict} — {escape(img.reason)}")
            details = [f"{img.kind or '?'} with {', '.join(img.platforms) or 'no platforms'}"]
            if ep:
                details.append(f"entrypoint {ep}" + (f" (built with {go})" if go else ""))
            console.print(f"    {escape('; '.join(details))}")
        if not ca.matches and not (img and img.verdict in ("crash", "unsupported")):
            console.print(
                "  [yellow]No known signature matched[/]; checked the status, events and logs against "
                f"{len(catalogue())} signatures" + (" and the image's platforms" if img else "") + "."
            )
        if ca.fixes:
            console.print("  [bold]What to do:[/]")
            for i, f in enumerate(ca.fixes, 1):
                console.print(f"    {i}. {escape(f)}")
    for note in p.notes:
        console.print(f"[dim]note: {escape(note)}[/]")


def _signature(console: Console, m, indent: str = "") -> None:  # type: ignore[no-untyped-def]
    s = m.signature
    console.print(f"{indent}[bold]Why:[/] [red]{escape(s.id)}[/] — {escape(s.meaning)}")
    console.print(f"{indent}  evidence ({escape(m.where)}): [dim]{escape(m.evidence)}[/]")
    console.print(f"{indent}  implicates: {s.implicates}; source: {escape(s.source)}")
