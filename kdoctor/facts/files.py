"""Reading the settings files probes look at (colima.yaml, lima.yaml): a broken file is a fact, never a crash."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


def read_yaml_mapping(path: Path) -> tuple[dict[str, Any] | None, str | None]:
    """(the mapping, None), or (None, "cannot parse: <first line of the reason>") when the file cannot be used."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError("top level is not a mapping")
    except (OSError, ValueError, yaml.YAMLError, UnicodeDecodeError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return None, f"cannot parse: {first}"
    return data, None
