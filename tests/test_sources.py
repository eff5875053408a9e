"""Every source the shipped catalogues show a user can be checked by that user.

A source item (a `source:` string is split on "; ", a `sources:` list gives one item per element, split the
same way) must start with one of:

- a public address (`https://...`), optionally followed by prose about it;
- a file the wheel ships (anything under checks/ or profiles/), optionally with `#anchor`: for a Markdown
  file the anchor is a heading's GitHub slug, for a YAML file a dotted key path;
- `unknown:`, saying what is not sourced.

No item may name a Markdown file, a `tests/` path or a `../` path that the wheel does not ship (a
project's private notes are not a source a user can read).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
CHECKS = ROOT / "checks"
SHIPPED_DIRS = ("checks", "profiles")

URL = re.compile(r"https://[^\s;,)]+")
SHIPPED_FILE = re.compile(r"^((?:checks|profiles)/[\w./-]*[\w-])(?:#([\w.-]+))?(?=$|[\s:,(])")
MARKDOWN = re.compile(r"[\w./-]*[\w-]\.md\b")
UNSHIPPED_PATH = re.compile(r"(?<![\w/])(?:tests/|\.\./|shared/reference)")


def _catalogues() -> list[Path]:
    return sorted(CHECKS.glob("*.yaml"))


def _items(node: Any, where: str) -> Iterator[tuple[str, str]]:
    """(where, item) for every source item below node."""
    if isinstance(node, dict):
        for key, value in node.items():
            here = f"{where}.{key}"
            if key in ("source", "sources"):
                values = value if isinstance(value, list) else [value]
                for i, v in enumerate(values):
                    for part in str(v).split("; "):
                        yield (f"{here}[{i}]" if isinstance(value, list) else here), part.strip()
            else:
                yield from _items(value, here)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            label = (value.get("id") or value.get("name") or value.get("product")) if isinstance(value, dict) else None
            yield from _items(value, f"{where}[{label or i}]")


def _slug(heading: str) -> str:
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _anchor_exists(path: Path, anchor: str) -> bool:
    if path.suffix == ".md":
        text = re.sub(r"^```.*?^```", "", path.read_text(encoding="utf-8"), flags=re.M | re.S)  # not in code
        headings = re.findall(r"^#{1,6}\s+(.+?)\s*#*\s*$", text, re.M)
        return anchor in {_slug(h) for h in headings}
    if path.suffix in (".yaml", ".yml"):
        node: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
        for key in anchor.split("."):
            if not isinstance(node, dict) or key not in node:
                return False
            node = node[key]
        return True
    return False


def problem(item: str) -> str | None:
    """Why item is not an acceptable source, or None."""
    if not item:
        return "empty"
    rest = URL.sub("", item)
    for path in MARKDOWN.findall(rest):
        if not any(path.startswith(f"{d}/") for d in SHIPPED_DIRS) or not (ROOT / path).is_file():
            return f"names {path}, which the wheel does not ship"
    if UNSHIPPED_PATH.search(rest):
        return "names a path the wheel does not ship"
    if item.startswith("unknown:"):
        return None if item[len("unknown:") :].strip() else "says unknown but not what"
    if URL.match(item):
        return None
    m = SHIPPED_FILE.match(item)
    if m:
        path = ROOT / m.group(1)
        if not path.is_file():
            return f"{m.group(1)} does not exist"
        if m.group(2) and not _anchor_exists(path, m.group(2)):
            return f"{m.group(1)} has no #{m.group(2)}"
        return None
    return "starts with neither an https:// address, a shipped file, nor 'unknown:'"


def offending() -> list[str]:
    bad = []
    for path in _catalogues():
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        for where, item in _items(doc, ""):
            why = problem(item)
            if why:
                bad.append(f"{path.relative_to(ROOT)}{where}: {why}: {item!r}")
    return bad


def test_every_source_is_public_shipped_or_unknown() -> None:
    bad = offending()
    for line in bad:
        print(line)
    assert not bad, f"{len(bad)} source item(s) a user cannot check:\n" + "\n".join(bad)


def test_every_catalogue_that_cites_has_its_sources_found() -> None:
    """The walk above sees every kind of source field (a silent miss would pass the test vacuously)."""
    counts = {p.name: sum(1 for _ in _items(yaml.safe_load(p.read_text(encoding="utf-8")), "")) for p in _catalogues()}
    for name in ("signatures.yaml", "risks.yaml", "cpu-features.yaml", "engines.yaml", "image-fields.yaml"):
        assert counts[name] > 0, name
    cited = [n for n in counts if n.startswith("KD")]
    assert sum(counts[n] for n in cited) >= len(cited) // 2
    engines = yaml.safe_load((CHECKS / "engines.yaml").read_text(encoding="utf-8"))
    rules = [r for p in engines["products"] for r in p["rules"]]
    assert all(str(r.get("source", "")).strip() for r in rules)


@pytest.mark.parametrize(
    ("item", "ok"),
    [
        ("https://github.com/golang/go/issues/69255 (the packing mechanism)", True),
        ("checks/risks.yaml#measured.qemu-user (v2 runs)", True),
        ("checks/risks.yaml#measured.nothing", False),
        ("unknown: the 4096 MiB recommendation", True),
        ("unknown:", False),
        ("golang/go#69255", False),
        ("emulation-minikube-kind.md §2.3", False),
        ("https://example.org/a; see tests/corpus/risks/RESEARCH.md", False),
        ("https://github.com/moby/buildkit/blob/5ca61c07/docs/multi-platform.md#x", True),
        ("../shared/reference/emulation-minikube-kind.md, addendum", False),
    ],
)
def test_the_rule_itself(item: str, ok: bool) -> None:
    assert (problem(item) is None) == ok, problem(item)
