"""Image reference parsing and normalisation, as Docker (distribution/reference) does it.

`nginx` -> docker.io/library/nginx:latest; the first path component is a registry only if it
contains "." or ":" or is "localhost"; the tag is split on the last ":" after the last "/" so a
registry port is never mistaken for a tag.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from kdoctor.errors import UsageError

DOCKER_HUB = "docker.io"
DOCKER_HUB_API = "registry-1.docker.io"
_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*")
_TAG = re.compile(r"[\w][\w.-]{0,127}")
_DIGEST = re.compile(r"sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128}")
_HOST = re.compile(
    r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?))*|\[[0-9a-fA-F:]+\]"
)


class ReferenceError(UsageError):
    """An image reference that Docker would reject."""


@dataclass(frozen=True, order=True)
class Reference:
    registry: str  # "docker.io", "ghcr.io", "localhost:5000"
    repository: str  # "library/nginx"
    tag: str | None = None
    digest: str | None = None

    @property
    def name(self) -> str:
        return f"{self.registry}/{self.repository}"

    @property
    def ref(self) -> str:
        """What the registry is asked for: the digest when there is one (it wins over the tag)."""
        return self.digest or self.tag or "latest"

    def __str__(self) -> str:
        out = self.name
        if self.tag:
            out += f":{self.tag}"
        if self.digest:
            out += f"@{self.digest}"
        return out

    def with_tag(self, tag: str) -> Reference:
        return Reference(self.registry, self.repository, tag, None)

    def with_digest(self, digest: str) -> Reference:
        return Reference(self.registry, self.repository, self.tag, digest)

    @property
    def api_host(self) -> str:
        return DOCKER_HUB_API if self.registry == DOCKER_HUB else self.registry


def _split_host_port(registry: str) -> tuple[str | None, str]:
    if registry.startswith("["):  # [::1]:5000
        end = registry.find("]")
        rest = registry[end + 1 :] if end > 0 else None
        if rest is None or (rest and not rest.startswith(":")):
            return None, ""
        return registry[: end + 1], rest[1:]
    host, _, port = registry.partition(":")
    return host, port


def parse(text: str) -> Reference:
    raw = text.strip()
    if not raw or len(raw) > 4096 or any(c.isspace() for c in raw):
        raise ReferenceError(f"invalid image reference {text!r}")
    name, digest = raw, None
    if "@" in raw:
        name, digest = raw.split("@", 1)
        if not _DIGEST.fullmatch(digest):
            raise ReferenceError(f"invalid digest in image reference {text!r}")
    tag = None
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        name, tag = name[:colon], name[colon + 1 :]
        if not _TAG.fullmatch(tag):
            raise ReferenceError(f"invalid tag {tag!r} in image reference {text!r}")
    parts = name.split("/")
    first = parts[0]
    if len(parts) > 1 and ("." in first or ":" in first or first == "localhost"):
        registry, path = first, parts[1:]
        host, port = _split_host_port(registry)
        if host is None or not _HOST.fullmatch(host) or (port and not port.isdigit()):
            raise ReferenceError(f"invalid registry {registry!r} in image reference {text!r}")
    else:
        registry, path = DOCKER_HUB, parts
    if registry == "index.docker.io":
        registry = DOCKER_HUB
    if not path or not all(_COMPONENT.fullmatch(p) for p in path):
        if any(p != p.lower() for p in path):
            raise ReferenceError(f"invalid image reference {text!r}: repository names must be lowercase")
        raise ReferenceError(f"invalid image reference {text!r}")
    repository = "/".join(path)
    if registry == DOCKER_HUB and len(path) == 1:
        repository = f"library/{repository}"
    if len(repository) > 255:
        raise ReferenceError(f"repository name too long in {text!r}")
    if tag is None and digest is None:
        tag = "latest"
    return Reference(registry, repository, tag, digest)


def is_loopback_registry(registry: str) -> bool:
    """Docker talks plain HTTP to localhost and 127.0.0.0/8 registries without being told."""
    host, _ = _split_host_port(registry)
    host = (host or "").strip("[]")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
