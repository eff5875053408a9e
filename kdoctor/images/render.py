"""`kdoctor images` as text: one row per image with its uses under it, unknowns by host, and per-file errors."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from kdoctor.images.command import ScanOutcome
from kdoctor.images.judge import verdict as V
from kdoctor.images.rows import NOT_LOOKED_UP, ImageRow, unknown_by_host
from kdoctor.vocabulary import SEVERITY_ORDER

if TYPE_CHECKING:
    from rich.console import Console

STYLE: dict[str, str] = {
    V.NATIVE: "green",
    V.EMULATED: "yellow",
    V.CRASH: "bold red",
    V.UNSUPPORTED: "red",
    V.UNKNOWN: "magenta",
}
USES_SHOWN = 3  # uses listed under a row without -v


def _why(row: ImageRow, verbose: bool) -> str:
    main = row.main
    lines = [main.reason]
    if main.suggestion:
        lines.append(f"→ {main.suggestion}")
    for other in row.results[1:]:  # the same image asked to run another command, with another verdict
        if other.verdict != main.verdict or other.reason != main.reason:
            argv = " ".join((other.command or []) + (other.args or [])) or "(image default)"
            lines.append(f"with `{argv}`: {other.verdict}: {other.reason}")
    uses = row.uses()
    shown = uses if verbose else uses[:USES_SHOWN]
    for u in shown:
        what = " ".join(x for x in (u["workload"], f"container {u['container']}" if u["container"] else "") if x)
        lines.append(
            f"  used by {u['file']}" + (f": {what}" if what else "") + (f" ({u['path']})" if u["path"] else "")
        )
    if len(uses) > len(shown):
        lines.append(f"  … and {len(uses) - len(shown)} more use(s) (-v lists them)")
    return "\n".join(lines)


def render(outcome: ScanOutcome, console: Console, *, verbose: bool = False) -> None:
    from rich.markup import escape
    from rich.table import Table

    rows = outcome.rows
    table = Table(title=f"Images for {outcome.platform} (emulator: {outcome.emulator})", title_justify="left")
    for col in ("image", "platforms", "verdict", "Go", "why / fix"):
        table.add_column(col, overflow="fold")
    for row in rows:
        r = row.main
        go = r.entrypoint.go_version if r.entrypoint and r.entrypoint.go_version else ""
        # An image with an unset variable is shown as written, not as the broken string Compose would make of it.
        name = (r.written or r.ref or "(empty)") + (f" [{r.platform_override}]" if r.platform_override else "")
        plats = ", ".join(r.platforms) or "-"
        table.add_row(
            escape(name), escape(plats), f"[{STYLE[r.verdict]}]{r.verdict}[/]", go, escape(_why(row, verbose))
        )
    if rows:
        console.print(table)
    counts = Counter(row.verdict for row in rows)
    summary = ", ".join(f"{n} {v}" for v, n in sorted(counts.items(), key=lambda kv: -SEVERITY_ORDER[kv[0]]))
    n_uses = sum(len(row.uses()) for row in rows)
    console.print(f"{len(rows)} image(s) in {n_uses} use(s): {summary or 'none'} in {outcome.duration_s:.2f}s")
    for host, entry in unknown_by_host(rows).items():
        where = "not looked up" if host == NOT_LOOKED_UP else f"unknown on {escape(host)}"
        console.print(f"{where}: {len(entry['images'])} image(s): {escape('; '.join(entry['reasons']))}")
    if outcome.platform_assumed:
        console.print(f"note: {outcome.platform_assumed}", markup=False, highlight=False)
    for note in outcome.notes:
        console.print(f"note: {note}", markup=False, highlight=False)
    for registry, q in outcome.pull_quota.items():
        # Plain advice, not the raw RateLimit header (issue 15).
        used = f" (this scan spent {q['pulls_used']})" if q["pulls_used"] else ""
        console.print(f"{registry}: {q['advice']}{used}", markup=False, highlight=False)
    inputs = outcome.inputs
    unread = outcome.unread_resources
    if unread:  # said without -v: an operator resource kdoctor cannot read pulls something all the same
        shown = "; ".join(unread[:3]) + (f"; and {len(unread) - 3} more" if len(unread) > 3 else "")
        console.print(
            f"note: {len(unread)} resource(s) name no image kdoctor can read (no pod template, no field in "
            f"checks/image-fields.yaml), so what they make the cluster pull is not known: {shown}",
            markup=False,
            highlight=False,
        )
    for e in inputs.errors:
        console.print(f"[red]error[/]: {escape(e.text())}" + (f"\n  hint: {escape(e.hint)}" if e.hint else ""))
    if verbose:
        for s in inputs.skipped:
            console.print(f"skipped: {escape(s.file)}: {escape(s.where)}: {s.reason}: {escape(s.detail)}")
        for w in inputs.warnings:
            console.print(f"warning: {escape(w.file)}: {escape(w.where)}: {escape(w.message)}")
    elif inputs.skipped or inputs.warnings:
        kinds = Counter(s.reason for s in inputs.skipped)
        what = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
        console.print(
            f"skipped {len(inputs.skipped)} ({what or 'none'}), {len(inputs.warnings)} warning(s): -v names them"
        )
