"""Reading one input file as documents: bytes decoded one way for files and stdin, JSON (and JSON streams)
or YAML with bounded work, and the errors a user can act on (an unrendered Helm template gets its hint).

YAML aliases are never expanded here: the loader shares one object per anchor, and merge keys (`<<`) keep one
entry per key, so an alias bomb costs what its text costs. Walkers over the result must remember what they
have visited (kube.py, interpolate.py).
"""

from __future__ import annotations

import codecs
import json
import re
from typing import Any

import yaml
from yaml.nodes import MappingNode, ScalarNode

from kdoctor.errors import InputError

HELM_HINT = "render it first: helm template RELEASE CHART | kdoctor images -f -"
# Go-template actions as Helm charts write them; `{{inputs.parameters.x}}` (Argo) has no space/dot/keyword.
_HELM = re.compile(r"\{\{-?\s*(?:\.|\$|if\b|else\b|end\b|range\b|with\b|include\b|template\b|define\b|toYaml\b|/\*)")

# libyaml's parser when PyYAML was built with it: the pure-Python one dominates large manifest sets.
_Base: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_Base):  # type: ignore[misc,valid-type]
    """The safe loader, with merge keys that cannot grow a mapping beyond its distinct keys."""

    def flatten_mapping(self, node: MappingNode) -> None:
        before = node.value
        super().flatten_mapping(node)
        if node.value is before:  # no merge key: nothing was added (the common case, kept cheap)
            return
        # Older PyYAML keeps every merged pair; a mapping that merges copies of a mapping that merges copies...
        # grows exponentially. The last pair of a key is the one the dict keeps, so keep only that one.
        seen: set[tuple[str, str]] = set()
        kept = []
        for key, value in reversed(node.value):
            if isinstance(key, ScalarNode):
                ident = (key.tag, key.value)
                if ident in seen:
                    continue
                seen.add(ident)
            kept.append((key, value))
        kept.reverse()
        node.value = kept


def _tagged(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    """Compose's `!reset` (drop the value) and `!override` (replace instead of merge) tags."""
    if suffix == "reset":
        return None
    if isinstance(node, MappingNode):
        return loader.construct_mapping(node, deep=True)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_scalar(node)  # type: ignore[arg-type]


_Loader.add_multi_constructor("!", _tagged)


class Located(str):
    """A YAML string that remembers where it is written: the file, and the 1-based line and column of its scalar
    (a quoted scalar starts at its quote). Equal to, and hashed as, the plain string."""

    file: str
    line: int
    column: int
    source: list[str]  # the file's lines (one list shared by every string of the file), to find a part in a block


def _located(loader: yaml.SafeLoader, node: yaml.Node) -> Located:
    s = Located(loader.construct_scalar(node))  # type: ignore[arg-type]
    s.file = getattr(loader, "where", "")
    s.source = getattr(loader, "source", [])
    s.line, s.column = node.start_mark.line + 1, node.start_mark.column + 1
    return s


_Loader.add_constructor("tag:yaml.org,2002:str", _located)


def located(value: object, part: str | None = None) -> tuple[str | None, int | None, int | None]:
    """(file, line, column) of a string read from YAML, or Nones (JSON, interpolated or computed strings). With
    `part` (a reference cut out of the string, e.g. from a block scalar's `version=image` lines): where that part
    is written, found in the raw lines the scalar spans."""
    if not isinstance(value, Located):
        return None, None, None
    if part and part != value and "\n" in value:
        last = value.line + value.count("\n") + 1
        for n in range(value.line, min(last, len(value.source)) + 1):
            at = value.source[n - 1].find(part) if n - 1 < len(value.source) else -1
            if at >= 0:
                return value.file or None, n, at + 1
    return value.file or None, value.line, value.column


def decode(data: bytes, where: str) -> str:
    """Text of a file or of stdin: UTF-8 (a BOM is dropped), or UTF-16/32 with their BOM as YAML allows."""
    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        codec = "utf-32"
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        codec = "utf-16"
    else:
        codec = "utf-8-sig"  # plain UTF-8; a UTF-8 BOM is dropped
    try:
        return data.decode(codec)
    except UnicodeDecodeError as exc:
        raise InputError(where, f"not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})") from None


def helm_line(text: str) -> int | None:
    """The first line holding a Helm (Go template) action, or None."""
    m = _HELM.search(text)
    return text.count("\n", 0, m.start()) + 1 if m else None


def _json_stream(text: str) -> list[Any] | None:
    """`kubectl` accepts concatenated JSON objects; so do we. None when the text is not JSON at all."""
    dec = json.JSONDecoder()
    out: list[Any] = []
    i, n = 0, len(text)
    while True:
        while i < n and text[i].isspace():
            i += 1
        if i >= n:
            return out
        try:
            doc, i = dec.raw_decode(text, i)
        except json.JSONDecodeError:
            return None
        if doc is not None:
            out.append(doc)


def load_documents(text: str, where: str) -> list[Any]:
    """Every non-empty document of a file; InputError (with the line, and a hint when one helps) if unreadable."""
    if text.lstrip()[:1] in ("{", "["):
        docs = _json_stream(text)
        if docs is not None:
            return docs
    try:
        # A loader class per file, so each string knows the file it is written in.
        loader = type("_FileLoader", (_Loader,), {"where": where, "source": text.splitlines()})
        return [d for d in yaml.load_all(text, Loader=loader) if d is not None]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        helm = helm_line(text)
        if helm is not None:
            err = InputError(
                where,
                f"an unrendered Helm chart template (a Go template action at line {helm}), not YAML yet",
                line=line,
            )
            err.hint = HELM_HINT
            raise err from None
        raise InputError(where, f"invalid YAML or JSON: {problem}", line=line) from None
    except RecursionError:
        raise InputError(where, "nested too deeply to read") from None
