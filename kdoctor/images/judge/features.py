"""CPU-feature facts (top-level checks/cpu-features.yaml): what Rosetta and QEMU provide of each feature.

Read by the risk catalogue (kdoctor/images/judge/risks.py) and by `kdoctor why` (`feature_facts`).
"""

from __future__ import annotations

import functools
from typing import Any

import yaml

from kdoctor.data import data_dir
from kdoctor.errors import InputError


@functools.cache
def features() -> dict[str, dict[str, Any]]:
    path = data_dir("checks") / "cpu-features.yaml"
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(str(path), f"cannot read the CPU feature facts: {exc}") from None
    return {str(e["name"]).lower(): e for e in raw if isinstance(e, dict) and e.get("name")}


def feature_entry(name: str) -> dict[str, Any] | None:
    return features().get(name.lower())


def feature_facts(name: str) -> dict[str, Any]:
    """{"rosetta": …, "qemu": …, "sources": […]} for a feature, or "unknown" for each when kdoctor has none."""
    e = feature_entry(name)
    if e is None:
        return {"rosetta": "unknown", "qemu": "unknown", "sources": []}
    return {
        "rosetta": str(e.get("rosetta", "unknown")).strip(),
        "qemu": str(e.get("qemu", "unknown")).strip(),
        "sources": [str(s) for s in e.get("sources") or []],
    }
