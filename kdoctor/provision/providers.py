"""The products kdoctor provisions, by the name a profile's `provider:` gives.

A new product is one module beside minikube.py and kind.py that fills in `model.Provider`, a line here,
and its name in the profile schema's `provider` field.
"""

from __future__ import annotations

from kdoctor.provision.kind import Kind
from kdoctor.provision.minikube import Minikube
from kdoctor.provision.model import Provider

PROVIDERS: dict[str, Provider] = {"minikube": Minikube(), "kind": Kind()}


def provider_for(name: str) -> Provider:
    return PROVIDERS[name]
