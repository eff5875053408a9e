"""Where the shipped data lives: the check catalogue and the cluster profiles.

In a wheel they are copied to ``kdoctor/_data/`` (see pyproject's force-include); in a source
checkout they are the top-level ``checks/`` and ``profiles/`` directories.
"""

from __future__ import annotations

from pathlib import Path

_PKG = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    shipped = _PKG / "_data" / name
    if shipped.is_dir():
        return shipped
    return _PKG.parent / name
