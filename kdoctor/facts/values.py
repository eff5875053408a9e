"""Reading single values out of tools' JSON answers, the same way for every probe."""

from __future__ import annotations

from typing import Any


def whole_number(v: Any) -> int | None:
    """An integer field, or None when it is absent or of another type (JSON booleans are not numbers here)."""
    return v if isinstance(v, int) and not isinstance(v, bool) else None
