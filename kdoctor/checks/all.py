"""The list of check modules. Importing one registers its checks (see catalogue.check).

A new category's module is added here; nothing else imports the check modules, so the registry
(catalogue.py) and the checks never import each other in a circle.
"""

from __future__ import annotations

from kdoctor.checks import driver, emulation, engine, host, images, kubernetes, resources, tools  # noqa: F401
from kdoctor.checks.catalogue import REGISTRY, CheckSpec


def load_checks() -> dict[str, CheckSpec]:
    """Every registered check (the imports above ran at module load, so a broken module fails loudly)."""
    return REGISTRY
