"""Talking to registries: references, credentials, tokens, transport, pull quotas, the cache, the wire format.

This is the package's one face: the rest of kdoctor imports from here, never from a module inside (the layer
test holds that). The names load on first use (PEP 562) so that importing the face costs nothing: `kdoctor
images` starts the CA bundle from `tls` before the CLI framework is imported, and must not pull httpx in
with it (README Performance 5 and 7).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kdoctor.images.registry.artifact import pull as pull_verdicts
    from kdoctor.images.registry.artifact import push as push_verdicts
    from kdoctor.images.registry.cache import ANALYSES, Cache
    from kdoctor.images.registry.client import RegistryClient, RegistryError
    from kdoctor.images.registry.mirrors import Mirrors
    from kdoctor.images.registry.negotiate import TOKEN_THREADS
    from kdoctor.images.registry.reach import image_deadline
    from kdoctor.images.registry.reference import Reference, ReferenceError
    from kdoctor.images.registry.reference import parse as parse_reference
    from kdoctor.images.registry.tls import start_tls_context
    from kdoctor.images.registry.transport import fit_workers
    from kdoctor.images.registry.verdicts import VerdictSources
    from kdoctor.images.registry.verdicts import document as verdict_document
    from kdoctor.images.registry.verdicts import read as read_verdicts

# name -> (module in this package, name there)
_FACE = {
    "ANALYSES": ("cache", "ANALYSES"),
    "Cache": ("cache", "Cache"),
    "RegistryClient": ("client", "RegistryClient"),
    "RegistryError": ("client", "RegistryError"),
    "Mirrors": ("mirrors", "Mirrors"),
    "TOKEN_THREADS": ("negotiate", "TOKEN_THREADS"),
    "image_deadline": ("reach", "image_deadline"),
    "Reference": ("reference", "Reference"),
    "ReferenceError": ("reference", "ReferenceError"),
    "parse_reference": ("reference", "parse"),
    "start_tls_context": ("tls", "start_tls_context"),
    "fit_workers": ("transport", "fit_workers"),
    "VerdictSources": ("verdicts", "VerdictSources"),
    "read_verdicts": ("verdicts", "read"),
    "push_verdicts": ("artifact", "push"),
    "pull_verdicts": ("artifact", "pull"),
    "verdict_document": ("verdicts", "document"),
}

__all__ = [
    "ANALYSES",
    "TOKEN_THREADS",
    "Cache",
    "Mirrors",
    "Reference",
    "ReferenceError",
    "RegistryClient",
    "RegistryError",
    "VerdictSources",
    "fit_workers",
    "image_deadline",
    "parse_reference",
    "pull_verdicts",
    "push_verdicts",
    "read_verdicts",
    "start_tls_context",
    "verdict_document",
]


def __getattr__(name: str) -> Any:
    try:
        module, attr = _FACE[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(importlib.import_module(f"{__name__}.{module}"), attr)
    globals()[name] = value  # later lookups skip this function
    return value
