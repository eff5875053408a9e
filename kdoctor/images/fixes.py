"""Look for a newer tag of the same repository that has the target platform (bounded, semver-aware)."""

from __future__ import annotations

import re

from kdoctor.images.registry import Reference, RegistryClient, RegistryError
from kdoctor.platforms import Platform, config_platform, index_entries, match

_SEMVER = re.compile(r"^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?((?:[-+].*)?)$")
MAX_CANDIDATES = 5


def _key(tag: str) -> tuple[tuple[int, int, int], str] | None:
    m = _SEMVER.match(tag)
    if not m:
        return None
    return (int(m.group(1)), int(m.group(2) or 0), int(m.group(3) or 0)), m.group(4) or ""


def newer_tags(current: str | None, tags: list[str]) -> list[str]:
    """Tags newer than `current` with the same suffix flavour (-alpine stays -alpine), newest first."""
    cur = _key(current or "")
    if cur is None:
        # `latest` or a non-version tag: consider every release-looking tag without a suffix.
        bare = [(k, t) for t in tags if (k := _key(t)) and not k[1]]
        return [t for _, t in sorted(bare, reverse=True)]
    version, suffix = cur
    flavour = re.sub(r"[\d.]+", "", suffix)
    pool: list[tuple[tuple[int, int, int], str]] = []
    for t in tags:
        k = _key(t)
        if k and k[0] > version and re.sub(r"[\d.]+", "", k[1]) == flavour:
            pool.append((k[0], t))
    return [t for _, t in sorted(pool, reverse=True)]


def has_platform(client: RegistryClient, ref: Reference, target: Platform) -> bool:
    m = client.manifest(ref)
    if m.is_index:
        entry, exact = match(index_entries(m.data), target)
        return entry is not None and exact
    return config_platform(client.image_config(ref, m.data)) == target


def find_newer_tag(client: RegistryClient, ref: Reference, target: Platform) -> str | None:
    try:
        tags = client.tags(ref)
    except RegistryError:
        return None
    for tag in newer_tags(ref.tag, tags)[:MAX_CANDIDATES]:
        try:
            if has_platform(client, ref.with_tag(tag), target):
                return str(ref.with_tag(tag))
        except (RegistryError, ValueError):
            continue
    return None
