"""Reading single values out of tools' JSON answers, the same way for every probe."""

from __future__ import annotations

from typing import Any


def normalise_arch(arch: Any) -> str | None:
    """The architecture words tools print ("aarch64", "amd64", "arm64/v8"…) as kdoctor's facts spell them."""
    if not isinstance(arch, str) or not arch:
        return None
    a = arch.lower()
    return {"aarch64": "arm64", "amd64": "x86_64", "arm64/v8": "arm64"}.get(a, a)


def whole_number(v: Any) -> int | None:
    """An integer field, or None when it is absent or of another type (JSON booleans are not numbers here)."""
    return v if isinstance(v, int) and not isinstance(v, bool) else None
