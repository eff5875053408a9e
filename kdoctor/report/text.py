"""Plain text layout shared by the text reports: aligned columns, words wrapped at spaces, long lines cut with an
ellipsis — never a word or an image reference broken in the middle (issue 26).

A report is laid out for a width: the terminal's, or none when stdout is not a terminal (a pipe or a CI log),
where every line is as long as its content, as kubectl and docker print. The content is the same at every width;
only where a line breaks differs.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

ELLIPSIS = "…"
GAP = "  "  # between columns, as kubectl


@dataclass(frozen=True)
class Layout:
    width: int | None  # None: not a terminal, no line is broken or cut
    color: bool = False

    @classmethod
    def of(cls, console: Console) -> Layout:
        if not console.is_terminal:
            return cls(width=None, color=False)
        return cls(width=max(40, console.width), color=console.color_system is not None)

    def wrap(self, text: str, indent: str = "", first: str | None = None) -> list[str]:
        """`text` in lines of at most the width, broken at spaces only (a word longer than a line stands alone)."""
        lead = indent if first is None else first
        if self.width is None:
            return [lead + text]
        return textwrap.wrap(
            text,
            width=self.width,
            initial_indent=lead,
            subsequent_indent=indent,
            break_long_words=False,
            break_on_hyphens=False,
        ) or [lead.rstrip()]

    def cut(self, text: str, room: int | None = None) -> str:
        """`text` cut to `room` (default: the width) with an ellipsis at a space where one is near, else in place."""
        limit = room if room is not None else self.width
        if limit is None or len(text) <= limit:
            return text
        head = text[: max(1, limit - 1)]
        space = head.rfind(" ")
        if space >= limit * 2 // 3:  # cut at a word boundary unless that throws most of the line away
            head = head[:space]
        return head.rstrip() + ELLIPSIS


def columns(rows: list[list[str]], widths: list[int]) -> list[str]:
    """Rows as left-aligned columns of the given widths; the last column is not padded, trailing blanks dropped."""
    out = []
    for row in rows:
        cells = [cell.ljust(w) for cell, w in zip(row[:-1], widths, strict=False)] + [row[-1]]
        out.append(GAP.join(cells).rstrip())
    return out


def emit(console: Console, lines: list[str], styles: dict[str, str] | None = None) -> None:
    """Print finished lines as they are (no markup, no wrapping by rich); a line's leading mark gets its colour."""
    from rich.text import Text

    for line in lines:
        text = Text(line)
        if styles and line[:1] in styles and line[1:2] == " ":
            text.stylize(styles[line[:1]], 0, 1)
        console.print(text, soft_wrap=True, highlight=False)
