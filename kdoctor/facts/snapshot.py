"""Read and write facts snapshots (`kdoctor facts`, `kdoctor diagnose --facts FILE`)."""

from __future__ import annotations

import json
from pathlib import Path

from kdoctor.errors import InputError
from kdoctor.facts.model import SCHEMA_VERSION, Facts


def dump_facts(facts: Facts) -> str:
    # Facts hold no credentials by construction (registry auth never enters them); keep it so.
    return json.dumps(facts.model_dump(mode="json", exclude_none=False), indent=2)


def _line_of(text: str, key: str) -> int | None:
    needle = f'"{key}"'
    for i, line in enumerate(text.splitlines(), 1):
        if needle in line:
            return i
    return None


def load_facts(path: Path) -> Facts:
    from pydantic import ValidationError

    src = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(src, f"cannot read: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(src, f"not valid JSON: {exc.msg}", line=exc.lineno) from None
    if not isinstance(raw, dict):
        raise InputError(src, "a facts snapshot is a JSON object")
    version = raw.get("schema_version", SCHEMA_VERSION)
    if not isinstance(version, int) or version > SCHEMA_VERSION:
        raise InputError(
            src,
            f"schema_version {version!r} is newer than this kdoctor understands ({SCHEMA_VERSION})",
            key="schema_version",
        )
    try:
        return Facts.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"])
        last = next((str(p) for p in reversed(err["loc"]) if isinstance(p, str)), None)
        raise InputError(src, err["msg"], key=key, line=_line_of(text, last) if last else None) from None
