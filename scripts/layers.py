"""The import graph of kdoctor/ by layer: prints cycles and upward imports; exits 1 when there are any.

Layers, top to bottom (a module may import its own layer's package or any layer below it, never above):

    cli, entry, __main__, commands      assemble commands
    why, provision                      verbs built on the ones below
    images                              registry client, layer walk, verdicts (reads only facts.model); inside
                                        it, the sub-packages in their own order (IMAGES_INNER)
    checks                              the check engine and the checks (read only facts.model)
    facts                               probes and the facts model
    tools                               docker/kubectl argv and output parsing
    report, runner, errors, data, versions,
    platforms, vocabulary, __init__     the base (the platform word, the emulator and verdict words)

Run: python scripts/layers.py  (tests/test_layers.py runs it too)
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "kdoctor"
LAYER = {
    "cli": 7,
    "entry": 7,
    "__main__": 7,
    "commands": 7,
    "why": 6,
    "provision": 6,
    "images": 5,
    "checks": 4,
    "facts": 3,
    "tools": 2,
    "policy": 2,  # the team's .kdoctor.yaml: read by commands and the images gate, reads only layer 1
    "report": 1,
    "runner": 1,
    "errors": 1,
    "data": 1,
    "versions": 1,
    "platforms": 1,
    "vocabulary": 1,
    "__init__": 1,
    "crashlog": 1,
    "yamlkeys": 1,
}
# Narrow exceptions, each with its reason: a lower layer may read a *model* (plain data types) above it.
ALLOWED_UP: set[tuple[str, str]] = set()
# Packages that may reach into another only through the modules named: (importer, package) -> allowed.
ONLY_THROUGH = {
    ("images", "facts"): {"facts.model"},  # images read facts' data types, never run probes
    ("provision", "checks"): {"checks.run", "checks.catalogue"},  # the check engine's public face
    ("why", "facts"): {"facts.model", "facts.target"},  # why asks the one target decision
}


# Inside images/: which sub-packages each may import (the pipeline modules at images/ itself may import any).
# Where uses come from and how registries are asked know nothing of each other; inspecting an image asks the
# registry; judging reads what inspection found.
IMAGES_INNER: dict[str, set[str]] = {
    "inputs": set(),
    "registry": set(),
    "inspect": {"registry"},
    "judge": {"inspect"},
}
# A package whose modules the rest of kdoctor reaches only through its face (its __init__).
FACES = {"images.registry"}


def modules() -> dict[str, Path]:
    out = {}
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__" and len(parts) > 1:
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def imports_of(path: Path) -> set[str]:
    """kdoctor modules imported anywhere in the file (lazy imports inside functions count too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("kdoctor"):
            base = node.module.removeprefix("kdoctor").lstrip(".")
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if base else alias.name)
            if base:
                found.add(base)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("kdoctor."):
                    found.add(alias.name.removeprefix("kdoctor."))
    return found


def resolve(name: str, known: dict[str, Path]) -> str | None:
    while name:
        if name in known:
            return name
        name = name.rpartition(".")[0]
    return None


def graph() -> dict[str, set[str]]:
    known = modules()
    edges: dict[str, set[str]] = {}
    for mod, path in known.items():
        targets = {resolve(i, known) for i in imports_of(path)}
        edges[mod] = {t for t in targets if t and t != mod}
    return edges


def top(mod: str) -> str:
    return mod.split(".", 1)[0]


def upward(edges: dict[str, set[str]]) -> list[str]:
    bad = []
    for src, dsts in sorted(edges.items()):
        for dst in sorted(dsts):
            ls, ld = LAYER.get(top(src), 0), LAYER.get(top(dst), 0)
            if ld > ls and (top(src), dst) not in ALLOWED_UP:
                bad.append(f"{src} -> {dst}")
    return bad


def through(edges: dict[str, set[str]]) -> list[str]:
    bad = []
    for src, dsts in sorted(edges.items()):
        for dst in sorted(dsts):
            allowed = ONLY_THROUGH.get((top(src), top(dst)))
            if allowed is not None and dst not in allowed:
                bad.append(f"{src} -> {dst} (only {', '.join(sorted(allowed))})")
    return bad


def sub_of(mod: str) -> str | None:
    """The images sub-package a module belongs to (None for the pipeline modules and outside images)."""
    parts = mod.split(".")
    return parts[1] if parts[0] == "images" and len(parts) > 2 and parts[1] in IMAGES_INNER else None


def inner(edges: dict[str, set[str]]) -> list[str]:
    bad = []
    for src, dsts in sorted(edges.items()):
        for dst in sorted(dsts):
            s, d = (
                sub_of(src),
                sub_of(dst) or (dst.split(".")[1] if dst in {f"images.{k}" for k in IMAGES_INNER} else None),
            )
            if s is not None and d is not None and d != s and d not in IMAGES_INNER[s]:
                bad.append(f"{src} -> {dst} (images.{s} may import {sorted(IMAGES_INNER[s]) or 'no sibling'})")
            for face in FACES:
                if dst.startswith(face + ".") and not src.startswith(face + ".") and src != face:
                    bad.append(f"{src} -> {dst} (only through its face, {face})")
    return bad


def package_cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Cycles between modules (Tarjan's strongly connected components with more than one member)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10_000)
    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def main() -> int:
    edges = graph()
    cycles = package_cycles(edges)
    up = upward(edges) + through(edges) + inner(edges)
    print(f"{len(edges)} modules, {sum(len(d) for d in edges.values())} import edges")
    print(f"{len(cycles)} cycle(s)")
    for c in cycles:
        print("  cycle: " + " <-> ".join(c))
    print(f"{len(up)} upward import(s)")
    for u in up:
        print("  up: " + u)
    return 1 if cycles or up else 0


if __name__ == "__main__":
    sys.exit(main())
