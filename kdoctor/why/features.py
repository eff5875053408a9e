"""CPU-feature facts for `kdoctor why`, from the one loader the images risk catalogue uses as well."""

from __future__ import annotations

from typing import Any

from kdoctor.images.features import feature_entry, features

__all__ = ["feature_facts", "features"]


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
