"""Compose variable interpolation and `.env` files, as the Compose Specification defines them.

Forms: `$$` (a literal `$`), `$V`, `${V}`, `${V:-d}`/`${V-d}` (default when unset-or-empty / unset),
`${V:?e}`/`${V?e}` (error), `${V:+r}`/`${V+r}` (replacement), operands nested to any depth. A `$` not
followed by a name or `{` stays as it is. An unset variable with no default becomes "" and is reported.
Source: https://docs.docker.com/reference/compose-file/interpolation/ and
https://docs.docker.com/compose/how-tos/environment-variables/variable-interpolation/ (.env syntax).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_NAME = re.compile(r"[_a-zA-Z][_a-zA-Z0-9]*")
_OPS = (":-", ":?", ":+", "-", "?", "+")


@dataclass
class Issues:
    """What interpolating one value met: variables unset with no default, `?` errors, bad syntax."""

    unset: list[str] = field(default_factory=list)
    required: list[tuple[str, str]] = field(default_factory=list)  # (variable, its error message)
    invalid: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.unset or self.required or self.invalid)


def _closing(text: str, start: int) -> int:
    """Index of the `}` closing the `${` whose body starts at `start`, or -1."""
    depth, i = 1, start
    while i < len(text):
        if text.startswith("$$", i):
            i += 2
            continue
        if text.startswith("${", i):
            depth += 1
            i += 2
            continue
        if text[i] == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


def interpolate(text: str, lookup: Callable[[str], str | None], issues: Issues) -> str:
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        j = text.find("$", i)
        if j < 0:
            out.append(text[i:])
            break
        out.append(text[i:j])
        if text.startswith("$$", j):
            out.append("$")
            i = j + 2
            continue
        if text.startswith("${", j):
            end = _closing(text, j + 2)
            if end < 0:
                issues.invalid.append(f"unclosed '${{' in {text!r}")
                out.append(text[j:])
                break
            out.append(_braced(text[j + 2 : end], lookup, issues))
            i = end + 1
            continue
        m = _NAME.match(text, j + 1)
        if m is None:  # `$(...)`, `$1`, a trailing `$`: not a variable, kept as written
            out.append("$")
            i = j + 1
            continue
        value = lookup(m.group())
        if value is None:
            issues.unset.append(m.group())
        out.append(value or "")
        i = m.end()
    return "".join(out)


def _braced(body: str, lookup: Callable[[str], str | None], issues: Issues) -> str:
    m = _NAME.match(body)
    if m is None:
        issues.invalid.append(f"invalid interpolation format '${{{body}}}'")
        return ""
    name, rest = m.group(), body[m.end() :]
    value = lookup(name)
    if not rest:
        if value is None:
            issues.unset.append(name)
        return value or ""
    op = next((o for o in _OPS if rest.startswith(o)), None)
    if op is None:
        issues.invalid.append(f"invalid interpolation format '${{{body}}}' (only :- - :? ? :+ + are supported)")
        return ""
    operand = rest[len(op) :]
    present = value is not None and (value != "" or ":" not in op)
    if op.endswith("-"):
        return (value or "") if present else interpolate(operand, lookup, issues)
    if op.endswith("+"):
        return interpolate(operand, lookup, issues) if present else ""
    if not present:  # `?`: required
        issues.required.append((name, interpolate(operand, lookup, Issues()) or f"{name} is required"))
        return ""
    return value or ""


def interpolate_tree(
    doc: Any, lookup: Callable[[str], str | None], report: Callable[[str, Issues], None], path: str = ""
) -> Any:
    """A copy of a parsed YAML tree with every string value interpolated (keys are not).

    Shared subtrees (YAML aliases) are interpolated once and stay shared, so an alias bomb costs what its
    text costs; `report(path, issues)` is called for each value that met a problem (at its first path)."""
    memo: dict[int, Any] = {}

    def walk(node: Any, where: str) -> Any:
        if isinstance(node, str):
            issues = Issues()
            value = interpolate(node, lookup, issues) if "$" in node else node
            if issues:
                report(where, issues)
            return value
        if not isinstance(node, dict | list):
            return node
        done = memo.get(id(node))
        if done is not None:
            return done
        if isinstance(node, dict):
            new_d: dict[Any, Any] = {}
            memo[id(node)] = new_d
            for k, v in node.items():
                new_d[k] = walk(v, f"{where}.{k}" if where else str(k))
            return new_d
        new_l: list[Any] = []
        memo[id(node)] = new_l
        new_l.extend(walk(v, f"{where}[{i}]") for i, v in enumerate(node))
        return new_l

    return walk(doc, path)


_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "\\": "\\", '"': '"', "'": "'", "$": "$$"}


def parse_env_file(text: str, environ: Mapping[str, str]) -> dict[str, str]:
    """`KEY=value` lines: `#` comments, `export `, quotes ('…' literal, "…" with escapes), and interpolation
    of unquoted and double-quoted values from the lines before and the environment."""
    out: dict[str, str] = {}

    def lookup(name: str) -> str | None:
        return out[name] if name in out else environ.get(name)

    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[7:].lstrip()
        key, eq, value = line.partition("=")
        key = key.strip()
        if not eq or not _NAME.fullmatch(key):
            continue
        value = value.strip()
        if value[:1] == "'" and value.find("'", 1) > 0:
            out[key] = value[1 : value.find("'", 1)]
        elif value[:1] == '"':
            buf, i = [], 1
            while i < len(value) and value[i] != '"':
                if value[i] == "\\" and i + 1 < len(value):
                    buf.append(_ESCAPES.get(value[i + 1], "\\" + value[i + 1]))
                    i += 2
                    continue
                buf.append(value[i])
                i += 1
            out[key] = interpolate("".join(buf), lookup, Issues())
        else:
            hash_at = value.find(" #")
            value = (value[:hash_at] if hash_at >= 0 else value).strip()
            out[key] = interpolate(value, lookup, Issues())
    return out


def read_env_files(paths: list[Path], environ: Mapping[str, str]) -> dict[str, str]:
    """The variables of several env files, later files winning; OSError/UnicodeDecodeError for the caller."""
    merged: dict[str, str] = {}
    for p in paths:
        merged.update(parse_env_file(p.read_text(encoding="utf-8-sig"), {**merged, **environ}))
    return merged
