"""Registry credentials (docker's config.json, credential helpers) and token auth.

Precedence as in docker/cli: credHelpers[host] > credsStore > inline auths. Helpers run as
`docker-credential-<name> get` with the server URL on stdin, through kdoctor's runner (no shell,
with a timeout). Secrets are held in `Secret`, whose repr never shows the value.
"""

from __future__ import annotations

import base64
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from kdoctor.images.registry.reference import DOCKER_HUB
from kdoctor.runner import Runner

HUB_KEYS = ("https://index.docker.io/v1/", "index.docker.io", "docker.io", "registry-1.docker.io")


class Secret:
    """A value that must never be printed, logged or serialised."""

    __slots__ = ("_value",)

    def __init__(self, value: str):
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret(***)"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)


@dataclass(frozen=True)
class Credentials:
    username: str | None = None
    password: Secret | None = None
    identity_token: Secret | None = None
    source: str = ""  # "auths", "credsStore:desktop", "credHelpers:gcloud" — never the secret

    def __repr__(self) -> str:
        return f"Credentials(username={self.username!r}, source={self.source!r})"


def docker_config_path() -> Path:
    base = os.environ.get("DOCKER_CONFIG")
    return Path(base) / "config.json" if base else Path.home() / ".docker" / "config.json"


@dataclass
class DockerConfig:
    auths: dict[str, dict[str, str]] = field(default_factory=dict)
    creds_store: str | None = None
    cred_helpers: dict[str, str] = field(default_factory=dict)
    error: str | None = None  # the file exists but could not be read

    @classmethod
    def load(cls, path: Path | None = None) -> DockerConfig:
        path = path or docker_config_path()
        if not path.is_file():
            return cls()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data, dict):
                raise ValueError("top level is not an object")
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            # Never echo file content: it holds credentials.
            msg = exc.msg if isinstance(exc, json.JSONDecodeError) else type(exc).__name__
            return cls(error=f"{path}: cannot parse ({msg})")
        auths = data.get("auths")
        auths = auths if isinstance(auths, dict) else {}
        helpers = data.get("credHelpers")
        helpers = helpers if isinstance(helpers, dict) else {}
        store = data.get("credsStore") if isinstance(data.get("credsStore"), str) else None
        return cls(
            auths={k: v for k, v in auths.items() if isinstance(v, dict)},
            creds_store=store or None,
            cred_helpers={k: v for k, v in helpers.items() if isinstance(v, str)},
        )


def _keys_for(registry: str) -> tuple[str, ...]:
    if registry == DOCKER_HUB:
        return HUB_KEYS
    return (registry, f"https://{registry}", f"http://{registry}", f"https://{registry}/v1/", f"https://{registry}/v2/")


def _from_helper(runner: Runner, helper: str, server: str, source: str) -> Credentials | None:
    res = runner.run([f"docker-credential-{helper}", "get"], input=server, timeout=10)
    if not res.ok:
        return None
    try:
        data = json.loads(res.stdout)
    except json.JSONDecodeError:
        return None
    if not isinstance(data, dict) or not data.get("Secret"):
        return None
    user = data.get("Username")
    secret = Secret(str(data["Secret"]))
    if user == "<token>":
        return Credentials(identity_token=secret, source=source)
    return Credentials(username=str(user) if user else None, password=secret, source=source)


def lookup(registry: str, config: DockerConfig, runner: Runner) -> Credentials | None:
    keys = _keys_for(registry)
    for key in keys:
        if key in config.cred_helpers:
            return _from_helper(runner, config.cred_helpers[key], key, f"credHelpers:{config.cred_helpers[key]}")
    if config.creds_store:
        server = keys[0]
        found = _from_helper(runner, config.creds_store, server, f"credsStore:{config.creds_store}")
        if found:
            return found
    for key in keys:
        entry = config.auths.get(key)
        if not entry:
            continue
        if entry.get("identitytoken"):
            return Credentials(identity_token=Secret(entry["identitytoken"]), source="auths")
        if entry.get("auth"):
            try:
                user, _, pw = base64.b64decode(entry["auth"]).decode("utf-8").partition(":")
            except (ValueError, UnicodeDecodeError):
                continue
            return Credentials(username=user, password=Secret(pw), source="auths")
        if entry.get("username") and entry.get("password"):
            return Credentials(username=entry["username"], password=Secret(entry["password"]), source="auths")
    return None


_CHALLENGE = re.compile(r'(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))')


def parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    """`Bearer realm="…",service="…",scope="…"` -> ("bearer", {...}); quote-aware."""
    scheme, _, rest = header.strip().partition(" ")
    params = {
        m.group(1).lower(): (m.group(2) if m.group(2) is not None else m.group(3)) for m in _CHALLENGE.finditer(rest)
    }
    return scheme.lower(), params
