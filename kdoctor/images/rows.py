"""One row per image: the results of its distinct commands grouped under it, with every use listed.

A row is an image as it is pulled: the normalised reference and the platform asked for (a Compose
`platform:` pulls another entry of the index, so it is another row). Its verdict can still differ per
command (an emulated image's entrypoint, or the `command:` a workload gives it, decides crash or not), so the
row keeps one verdict per distinct command (`commands`) and shows the worst as its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kdoctor.images.judge import verdict as V
from kdoctor.images.result import ImageResult
from kdoctor.vocabulary import SEVERITY_ORDER


def _worst_first(r: ImageResult) -> tuple[int, str]:
    return (-SEVERITY_ORDER[r.verdict], " ".join((r.command or []) + (r.args or [])))


@dataclass
class ImageRow:
    results: list[ImageResult]  # one per distinct (command, args), the worst first

    @property
    def main(self) -> ImageResult:
        return self.results[0]

    @property
    def verdict(self) -> str:
        return self.main.verdict

    def uses(self) -> list[dict[str, Any]]:
        out = []
        for r in self.results:
            for o in r.origins:
                out.append({**o.to_json(), "command": r.command, "args": r.args, "verdict": r.verdict})
        if not out:  # image arguments and older sources carry only text
            out = [{"file": s, "workload": "", "container": None, "path": ""} for s in self.sources()]
        return out

    def sources(self) -> list[str]:
        seen: dict[str, None] = {}
        for r in self.results:
            seen.update(dict.fromkeys(r.sources))
        return list(seen)

    def to_json(self) -> dict[str, Any]:
        doc = self.main.to_json()
        doc["sources"] = self.sources()
        doc["platform_override"] = self.main.platform_override
        doc["registry"] = self.main.registry
        doc["uses"] = self.uses()
        doc["commands"] = [
            {
                "command": r.command,
                "args": r.args,
                "verdict": r.verdict,
                "reason": r.reason,
                "go": r.entrypoint.go_json() if r.entrypoint else None,
                "uses": max(1, len(r.origins)),
            }
            for r in self.results
        ]
        return doc


def group_rows(results: list[ImageResult]) -> list[ImageRow]:
    groups: dict[tuple[str, str | None], list[ImageResult]] = {}
    for r in results:
        name = r.resolved or f"{r.ref}\0{r.reason}"  # not looked up: one row per reference and reason
        groups.setdefault((name, r.platform_override), []).append(r)
    rows = [ImageRow(sorted(rs, key=_worst_first)) for rs in groups.values()]
    rows.sort(key=lambda row: (-SEVERITY_ORDER[row.verdict], row.main.ref))
    return rows


# The group key of unknown images no registry was asked about (invalid references, unset variables): a public JSON
# key of `unknown_by_host`, and the one the text report words as "not looked up".
NOT_LOOKED_UP = "(not looked up)"


def unknown_by_host(rows: list[ImageRow]) -> dict[str, dict[str, Any]]:
    """Unknown images grouped by the registry host asked (or "(not looked up)"), with the distinct reasons."""
    out: dict[str, dict[str, Any]] = {}
    for row in rows:
        if row.verdict != V.UNKNOWN:
            continue
        host = row.main.registry or NOT_LOOKED_UP
        entry = out.setdefault(host, {"images": [], "reasons": []})
        entry["images"].append(row.main.ref)
        if row.main.reason not in entry["reasons"]:
            entry["reasons"].append(row.main.reason)
    return out
