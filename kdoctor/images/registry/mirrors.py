"""Registry mirrors: a registry answered by another, as Docker's `registry-mirrors` and containerd's hosts.toml
do for pull-through caches (Harbor proxy projects, mirror.gcr.io). The image keeps the name it is written with;
the lookup goes to the mirror, under the mirror's path prefix (issue 27).

    docker.io=https://harbor.corp/v2/dockerhub-proxy   -> harbor.corp, repository dockerhub-proxy/library/nginx
    ghcr.io=mirror.internal:5000                       -> mirror.internal:5000, the same repository
    docker.io=http://127.0.0.1:5000                    -> plain HTTP to that host

Sources: https://docs.docker.com/docker-hub/image-library/mirror/ (registry-mirrors) and
https://github.com/containerd/containerd/blob/main/docs/hosts.md (a mirror `server` with a path prefix).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from kdoctor.errors import UsageError
from kdoctor.images.registry.reference import Reference

DOCKER_HUB_ALIASES = ("docker.io", "index.docker.io", "registry-1.docker.io")


@dataclass(frozen=True)
class Mirror:
    source: str  # the registry as references name it
    host: str  # host[:port] that answers
    prefix: str  # a path the mirror keeps the source's repositories under ("" for none)
    plain_http: bool


def _registry(name: str) -> str:
    name = name.strip().lower().removeprefix("https://").removeprefix("http://").rstrip("/")
    return "docker.io" if name in DOCKER_HUB_ALIASES else name


def parse_mirror(source: str, target: str) -> Mirror:
    """One `FROM=TO` (or a policy `mirrors:` entry); UsageError naming what is wrong."""
    if not source.strip() or not target.strip():
        raise UsageError(f"registry mirror {source}={target}: expected REGISTRY=[http(s)://]HOST[:PORT][/PATH]")
    text = target.strip()
    parts = urlsplit(text if "://" in text else f"https://{text}")
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise UsageError(f"registry mirror {source}={target}: expected REGISTRY=[http(s)://]HOST[:PORT][/PATH]")
    prefix = parts.path.strip("/")
    prefix = prefix.removeprefix("v2").strip("/")  # Harbor's and hosts.toml's `/v2/<project>` form
    return Mirror(_registry(source), parts.netloc.lower(), prefix, parts.scheme == "http")


@dataclass(frozen=True)
class Mirrors:
    entries: tuple[Mirror, ...] = ()

    @classmethod
    def of(cls, pairs: dict[str, str]) -> Mirrors:
        return cls(tuple(parse_mirror(k, v) for k, v in pairs.items()))

    def apply(self, ref: Reference) -> Reference:
        """The reference the lookup asks for: the mirror's host and prefix, or `ref` itself."""
        for m in self.entries:
            if _registry(ref.registry) == m.source:
                repo = f"{m.prefix}/{ref.repository}" if m.prefix else ref.repository
                return Reference(m.host, repo, ref.tag, ref.digest)
        return ref

    def plain_http_hosts(self) -> set[str]:
        return {m.host for m in self.entries if m.plain_http}
