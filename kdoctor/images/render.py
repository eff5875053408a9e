"""`kdoctor images` as text: one line per image, then only what differs, then the summary and notes (issue 26).

The table has one line per image: its reference (never broken; a digest shortened to 12 hex characters, the
full one in -v and JSON), platforms, verdict with its mark and Go version. Below it, grouped, only what a reader
needs to act on: each crash or unsupported image with its reason, fix and first use; emulated images once per
distinct reason; unknowns once per registry host. `-v` gives every image its block with every use, and
`--output wide` the whole table on one line per image at any width.

Narrow terminals: a row whose reference does not fit beside its columns is shown under a heading that holds the
reference's repository path (`host/path/` once, then `…/name:tag` on the row), so the reference is still whole
across the two lines and each row keeps its verdict; a reference whose last part still does not fit stands alone
on its line, whole, with its columns on the next.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import TYPE_CHECKING, Any

from kdoctor.images.builds import EMULATED as EMULATED_STAGE
from kdoctor.images.builds import FAILS
from kdoctor.images.command import ScanOutcome
from kdoctor.images.judge import verdict as V
from kdoctor.images.rows import NOT_LOOKED_UP, ImageRow, unknown_by_host
from kdoctor.report.text import ELLIPSIS, GAP, Layout, columns, emit
from kdoctor.vocabulary import SEVERITY_ORDER

if TYPE_CHECKING:
    from rich.console import Console

# The marks diagnose uses (✓ ! ✗), and a distinct one for "could not tell".
MARK: dict[str, str] = {V.NATIVE: "✓", V.EMULATED: "!", V.CRASH: "✗", V.UNSUPPORTED: "✗", V.UNKNOWN: "?"}
STYLE: dict[str, str] = {"✓": "green", "!": "yellow", "✗": "bold red", "?": "magenta"}
PLATFORMS_SHOWN = 3  # more are counted (+N); -v and wide list them all
HEADERS = ["IMAGE", "PLATFORMS", "VERDICT", "GO"]
_DIGEST = re.compile(r"@(sha256:[0-9a-f]{12})[0-9a-f]{52}\b")


def image_name(row: ImageRow, *, full: bool = False) -> str:
    """The reference as written (an unset variable stays as written), its digest shortened unless `full`."""
    r = row.main
    name = r.written or r.ref or "(empty)"
    if not full:
        name = _DIGEST.sub(r"@\1", name)
    return name + (f" [{r.platform_override}]" if r.platform_override else "")


def platforms_cell(platforms: list[str], *, full: bool = False) -> str:
    if not platforms:
        return "-"
    # "linux/" is what nearly every entry says; other systems keep their os ("windows/amd64").
    names = [p.removeprefix("linux/") for p in platforms]
    if full or len(names) <= PLATFORMS_SHOWN + 1:
        return ",".join(names)
    return ",".join(names[:PLATFORMS_SHOWN]) + f",+{len(names) - PLATFORMS_SHOWN}"


def _go(row: ImageRow) -> str:
    ep = row.main.entrypoint
    return ep.go_version if ep and ep.go_version else ""


def _cells(row: ImageRow, full: bool) -> list[str]:
    r = row.main
    return [image_name(row, full=full), platforms_cell(r.platforms, full=full), r.verdict, _go(row)]


def table(rows: list[ImageRow], layout: Layout, *, full: bool = False) -> list[str]:
    """The one-line-per-image table, each line led by the verdict's mark."""
    cells = [_cells(row, full) for row in rows]
    has_go = any(c[3] for c in cells)
    ncol = 4 if has_go else 3
    rest_w = [max(len(HEADERS[i]), *(len(c[i]) for c in cells)) for i in range(1, ncol)]
    rest_len = sum(rest_w) + len(GAP) * (ncol - 1)
    room = None if layout.width is None else layout.width - 2 - rest_len  # for the reference, after "✓ "
    placed: list[tuple[str | None, str]] = []  # (heading or None, the name on the row); heading "": alone
    for c in cells:
        name = c[0]
        if room is None or len(name) <= room:
            placed.append((None, name))
            continue
        head, sep, tail = name.rpartition("/")
        short = ELLIPSIS + "/" + tail
        if sep and len(short) <= room:
            placed.append((head + "/", short))
        else:
            placed.append(("", name))  # alone on its line, columns on the next
    fitting = [len(n) for h, n in placed if h != ""]
    name_w = max(len(HEADERS[0]), *fitting) if fitting else len(HEADERS[0])
    widths = [name_w, *rest_w]
    out = ["  " + columns([HEADERS[:ncol]], widths)[0]]
    heading: str | None = None
    for row, c, (over, shown) in zip(rows, cells, placed, strict=True):
        mark = MARK[row.verdict]
        if over == "":
            out.append(f"{mark} {shown}")
            out.append("  " + columns([["", *c[1:ncol]]], widths)[0])
            heading = None
            continue
        if over is not None and over != heading:
            out.append("  " + over)
        heading = over
        out.append(f"{mark} " + columns([[shown, *c[1:ncol]]], widths)[0])
    return out


def _use_text(u: dict[str, Any]) -> str:
    what = " ".join(x for x in (u["workload"], f"container {u['container']}" if u["container"] else "") if x)
    where = f"{u['file']}:{u['line']}" if u.get("line") else u["file"]
    return where + (f" ({what})" if what else "")


def _uses_line(row: ImageRow, layout: Layout, verbose: bool) -> list[str]:
    uses = row.uses()
    if not uses:
        return []
    if verbose:
        out = []
        for u in uses:
            text = _use_text(u) + (f" {u['path']}" if u["path"] else "")
            out += layout.wrap(text, indent="      ", first="    used by ")
        return out
    more = f", and {len(uses) - 1} more (-v lists them)" if len(uses) > 1 else ""
    return layout.wrap(f"used by {_use_text(uses[0])}{more}", indent="      ", first="    ")


def fit_reference(lead: str, name: str, layout: Layout, indent: str = "    ") -> list[str]:
    """`lead` + a reference, whole when it fits; else the table's rule: the repository path on this line, and
    `…/name:tag` on the next (a reference whose path alone is wider than the terminal stays whole)."""
    if layout.width is None or len(lead) + len(name) <= layout.width:
        return [lead + name]
    head, sep, tail = name.rpartition("/")
    if sep and len(lead) + len(head) + 1 <= layout.width:
        return [lead + head + "/", indent + ELLIPSIS + "/" + tail]
    return [lead + name]


def _image_block(row: ImageRow, layout: Layout, verbose: bool) -> list[str]:
    r = row.main
    out = fit_reference(f"{MARK[r.verdict]} {r.verdict}: ", image_name(row, full=verbose), layout)
    if verbose:
        out += layout.wrap(
            f"platforms: {platforms_cell(r.platforms, full=True) if r.platforms else 'none read'}"
            + (f"; digest {r.digest}" if r.digest else ""),
            indent="      ",
            first="    ",
        )
    out += layout.wrap(r.reason, indent="    ")
    if r.suggestion:
        out += layout.wrap(r.suggestion, indent="      ", first="    fix: ")
    for other in row.results[1:]:  # the same image asked to run another command, with another verdict
        if other.verdict != r.verdict or other.reason != r.reason:
            argv = " ".join((other.command or []) + (other.args or [])) or "(image default)"
            out += layout.wrap(f"with `{argv}`: {other.verdict}: {other.reason}", indent="      ", first="    ")
    return out + _uses_line(row, layout, verbose)


def details(rows: list[ImageRow], layout: Layout, *, verbose: bool = False) -> list[str]:
    """What to act on, each reason once: crashes and unsupported images one by one, the rest grouped."""
    out: list[str] = []
    for row in rows:
        if verbose or row.verdict in (V.CRASH, V.UNSUPPORTED):
            out += _image_block(row, layout, verbose)
    if not verbose:
        emulated = [row for row in rows if row.verdict == V.EMULATED]
        by_reason: dict[tuple[str, str | None], list[ImageRow]] = {}
        for row in emulated:
            by_reason.setdefault((row.main.reason, row.main.suggestion), []).append(row)
        for (reason, fix), group in by_reason.items():
            # Names are needed only when the emulated images do not all share this reason.
            names = "" if len(by_reason) == 1 else ": " + ", ".join(image_name(g) for g in group)
            out += layout.wrap(f"{reason}", indent="    ", first=f"! emulated, {len(group)} image(s){names}: ")
            if fix:
                out += layout.wrap(fix, indent="      ", first="    fix: ")
    for host, entry in unknown_by_host(rows).items():
        where = "not looked up" if host == NOT_LOOKED_UP else f"unknown on {host}"
        n = len(entry["images"])
        out += layout.wrap("; ".join(entry["reasons"]), indent="    ", first=f"? {where}, {n} image(s): ")
        if verbose:
            out += [f"    {ref}" for ref in entry["images"]]
    return out


def builds(outcome: ScanOutcome, layout: Layout, *, verbose: bool = False) -> list[str]:
    """The build stages that run under an emulator (or cannot pull their base), with the steps known to die there;
    with -v every stage and where it runs."""
    out: list[str] = []
    for b in outcome.builds:
        if not (verbose or b.runs in (EMULATED_STAGE, FAILS) or b.steps):
            continue
        mark = (
            "✗"
            if b.steps or b.runs == FAILS
            else "!"
            if b.runs == EMULATED_STAGE
            else "?"
            if b.runs == "unknown"
            else "✓"
        )
        who = f" ({b.workload})" if b.workload else ""
        out += layout.wrap(
            f"{b.why}", indent="    ", first=f"{mark} {b.file}:{b.line} stage {b.stage}{who} runs {b.runs}: "
        )
        for step in b.steps:
            out += layout.wrap(
                f"{step.message} [{step.rule}]",
                indent="      ",
                first=f"    line {step.line}: RUN {layout.cut(step.command, 60)}: ",
            )
            for fix in step.fixes[:1]:
                out += layout.wrap(fix, indent="        ", first="      fix: ")
    return out


def summary(outcome: ScanOutcome) -> str:
    rows = outcome.rows
    counts = Counter(row.verdict for row in rows)
    text = ", ".join(f"{n} {v}" for v, n in sorted(counts.items(), key=lambda kv: -SEVERITY_ORDER[kv[0]]))
    n_uses = sum(len(row.uses()) for row in rows)
    return f"{len(rows)} image(s) in {n_uses} use(s): {text or 'none'} in {outcome.duration_s:.2f}s"


def notes(outcome: ScanOutcome, layout: Layout, *, verbose: bool = False) -> list[str]:
    out: list[str] = []
    said: list[str] = []
    if outcome.platform_assumed:
        said.append(outcome.platform_assumed)
    said += outcome.notes
    shared = [r for r in outcome.results if r.source]
    if shared:
        files = ", ".join(sorted({r.source for r in shared if r.source}))
        said.append(f"{len(shared)} image(s) answered from verdict files ({files}), re-judged by this kdoctor")
    if outcome.verdict_sources is not None:
        said += [f"verdict file: {e}" for e in outcome.verdict_sources.errors]
    mirrored = sorted({(r.resolved.split("/")[0], r.answered_by) for r in outcome.results
                       if r.answered_by and r.resolved})  # fmt: skip
    said += [f"{src} answered by {host} (registry mirror)" for src, host in mirrored]
    if outcome.policy is not None:
        allowed = [(r, o, a) for r in outcome.results for o in r.origins if (a := outcome.allowed(r, o))]
        said += [f"{r.written or r.ref} in {o.written_in or o.file}: {a.text()} ({outcome.policy.source})"
                 for r, o, a in allowed]  # fmt: skip
    for registry, q in outcome.pull_quota.items():
        # Plain advice, not the raw RateLimit header (issue 15).
        used = f" (this scan spent {q['pulls_used']})" if q["pulls_used"] else ""
        out += layout.wrap(f"{registry}: {q['advice']}{used}", indent="    ")
    unread = outcome.unread_resources
    if unread:  # said without -v: an operator resource kdoctor cannot read pulls something all the same
        shown = "; ".join(unread[:3]) + (f"; and {len(unread) - 3} more" if len(unread) > 3 else "")
        said.append(
            f"{len(unread)} resource(s) name no image kdoctor can read (no pod template, no field in "
            f"checks/image-fields.yaml), so what they make the cluster pull is not known: {shown}"
        )
    for note in said:
        out += layout.wrap(note, indent="      ", first="note: ")
    inputs = outcome.inputs
    for e in inputs.errors:
        out += layout.wrap(e.text(), indent="  ", first="error: ")
        if e.hint:
            out += layout.wrap(e.hint, indent="    ", first="  hint: ")
    if verbose:
        for s in inputs.skipped:
            out += layout.wrap(f"{s.file}: {s.where}: {s.reason}: {s.detail}", indent="    ", first="skipped: ")
        for w in inputs.warnings:
            out += layout.wrap(f"{w.file}: {w.where}: {w.message}", indent="    ", first="warning: ")
    elif inputs.skipped or inputs.warnings:
        kinds = Counter(s.reason for s in inputs.skipped)
        what = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
        n_skipped, n_warned = len(inputs.skipped), len(inputs.warnings)
        out.append(f"skipped {n_skipped} ({what or 'none'}), {n_warned} warning(s): -v names them")
    return out


def lines(outcome: ScanOutcome, layout: Layout, *, verbose: bool = False, wide: bool = False) -> list[str]:
    """The whole report as lines; `wide`: one line per image with everything, at any width."""
    rows = outcome.rows
    out = [f"Images for {outcome.platform} (emulator: {outcome.emulator})"]
    if wide:
        return out + wide_table(rows) + [summary(outcome)] + notes(outcome, Layout(None), verbose=verbose)
    if rows:
        out += table(rows, layout, full=verbose)
    more = details(rows, layout, verbose=verbose)
    if more:
        out += ["", *more]
    built = builds(outcome, layout, verbose=verbose)
    if built:
        out += ["", f"Builds (emulator: {outcome.emulator}):", *built]
    out += ["", summary(outcome)]
    return out + notes(outcome, layout, verbose=verbose)


def wide_table(rows: list[ImageRow]) -> list[str]:
    """Every column whole, one line per image: for a wide terminal or a spreadsheet (`--output wide`)."""
    head = [*HEADERS, "USES", "REASON"]
    cells = []
    for row in rows:
        c = _cells(row, full=True)
        cells.append([*c, str(len(row.uses())), row.main.reason])
    widths = [max(len(head[i]), *(len(c[i]) for c in cells)) for i in range(len(head) - 1)]
    body = [f"{MARK[row.verdict]} {line}" for row, line in zip(rows, columns(cells, widths), strict=True)]
    return ["  " + columns([head], widths)[0], *body]


def render(outcome: ScanOutcome, console: Console, *, verbose: bool = False, wide: bool = False) -> None:
    emit(console, lines(outcome, Layout.of(console), verbose=verbose, wide=wide), STYLE)
