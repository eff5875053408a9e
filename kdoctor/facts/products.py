"""Which product runs the container engine: the rules are data (checks/engines.yaml, with a source each)."""

from __future__ import annotations

import functools
import re
from typing import Any, cast, get_args

import yaml

from kdoctor.data import data_dir
from kdoctor.facts.model import Product

# Fields a rule may read; "context" is only trusted when the engine itself does not answer.
FIELDS = ("name", "operating_system", "kernel", "server_version", "platform", "context", "shape")
TESTS = ("equals", "prefix", "suffix", "contains", "regex")


@functools.cache
def rules() -> list[tuple[Product, str, str, str]]:
    """(product, field, test, value) in the catalogue's order."""
    raw = yaml.safe_load((data_dir("checks") / "engines.yaml").read_text(encoding="utf-8"))
    out: list[tuple[Product, str, str, str]] = []
    for entry in raw["products"]:
        product = entry["product"]
        if product not in get_args(Product):
            raise ValueError(f"engines.yaml: unknown product {product!r}")
        for rule in entry["rules"]:
            test = next(t for t in TESTS if t in rule)
            if rule["field"] not in FIELDS or not rule.get("source"):
                raise ValueError(f"engines.yaml: bad rule {rule!r}")
            out.append((cast(Product, product), rule["field"], test, str(rule[test])))
    return out


def _matches(value: str, test: str, want: str) -> bool:
    v, w = value.lower(), want.lower()
    if test == "equals":
        return v == w
    if test == "prefix":
        return v.startswith(w)
    if test == "suffix":
        return v.endswith(w)
    if test == "contains":
        return w in v
    return re.search(want, value, re.I) is not None


def fingerprint(fields: dict[str, Any], *, answered: bool = True) -> Product:
    """The product the fields point at, or "docker-engine" for an answer that names none, or "unknown"."""
    for product, field, test, want in rules():
        if field == "context" and answered:
            continue
        value = fields.get(field)
        if isinstance(value, str) and value and _matches(value, test, want):
            return product
    return "docker-engine" if answered and fields.get("operating_system") else "unknown"
