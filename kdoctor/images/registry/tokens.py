"""Bearer tokens and what each registry's auth looks like, kept in memory and between runs.

A warm scan should cost one HEAD per tag and nothing else, so tokens outlive the run: they are written to
`tokens.json` in the cache directory, mode 0600, until they expire. A token is keyed by registry, scope
and the identity of the credentials it was fetched with (a digest, never the secret), so a different
login never reuses it. Tokens stay inside auth.Secret in memory and are never printed or logged. The
realm each registry named in its challenge is kept too (it is not secret), so a later run fetches
tokens without a 401 probe. `--no-cache` keeps all of this in memory only.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kdoctor.images.registry.auth import Credentials, Secret

MARGIN = 15.0  # seconds: a token this close to expiry is not used (the request may take that long)
FILE = "tokens.json"


def identity(creds: Credentials | None) -> str:
    """Which login a token belongs to: a digest of the credentials, so the cache file holds no secret."""
    if creds is None:
        return "anonymous"
    secret = creds.identity_token or creds.password
    raw = f"{creds.source}\0{creds.username or ''}\0{secret.reveal() if secret else ''}"
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Realm:
    scheme: str  # "bearer" | "basic" | "none" (the registry answered without a challenge)
    realm: str = ""
    service: str = ""
    multi_scope: bool | None = None  # None: not tried; False: one scope per token request


class TokenStore:
    def __init__(self, root: Path | None, *, persist: bool):
        self.path = root / FILE if root is not None else None
        self.persist = persist and root is not None
        self._lock = threading.Lock()
        self._tokens: dict[str, tuple[Secret, float]] = {}
        self._realms: dict[str, Realm] = {}
        self._dirty = False
        if self.persist:
            self._load()

    @staticmethod
    def _key(registry: str, scope: str, ident: str) -> str:
        return hashlib.sha256(f"{registry}\0{scope}\0{ident}".encode()).hexdigest()

    def _load(self) -> None:
        assert self.path is not None
        try:
            doc = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError, UnicodeDecodeError):
            return
        if not isinstance(doc, dict):
            return
        now = time.time()
        tokens = doc.get("tokens")
        for key, entry in (tokens if isinstance(tokens, dict) else {}).items():
            if isinstance(entry, dict) and isinstance(entry.get("token"), str):
                expires = entry.get("expires")
                if isinstance(expires, int | float) and expires > now + MARGIN:
                    self._tokens[key] = (Secret(entry["token"]), float(expires))
        realms = doc.get("realms")
        for registry, r in (realms if isinstance(realms, dict) else {}).items():
            if isinstance(r, dict) and r.get("scheme") in ("bearer", "basic", "none"):
                multi = r.get("multi_scope")
                self._realms[registry] = Realm(
                    str(r["scheme"]),
                    str(r.get("realm", "")),
                    str(r.get("service", "")),
                    multi if isinstance(multi, bool) else None,
                )

    def get(self, registry: str, scope: str, ident: str) -> Secret | None:
        with self._lock:
            hit = self._tokens.get(self._key(registry, scope, ident))
        if hit and hit[1] > time.time() + MARGIN:
            return hit[0]
        return None

    def put(self, registry: str, scope: str, ident: str, value: Secret, expires_in: float) -> None:
        # Docker's token spec: a token lasts at least 60 s when expires_in is absent or smaller.
        expires = time.time() + max(60.0, expires_in)
        with self._lock:
            self._tokens[self._key(registry, scope, ident)] = (value, expires)
            self._dirty = True

    def drop(self, registry: str, scope: str, ident: str) -> None:
        with self._lock:
            if self._tokens.pop(self._key(registry, scope, ident), None) is not None:
                self._dirty = True

    def realm(self, registry: str) -> Realm | None:
        with self._lock:
            return self._realms.get(registry)

    def put_realm(self, registry: str, realm: Realm) -> None:
        with self._lock:
            if self._realms.get(registry) != realm:
                self._realms[registry] = realm
                self._dirty = True

    def flush(self) -> None:
        """Write what is still valid (once, at the end of a run), readable by the owner only."""
        with self._lock:
            if not self.persist or not self._dirty or self.path is None:
                return
            now = time.time()
            doc: dict[str, Any] = {
                "tokens": {
                    k: {"token": v.reveal(), "expires": exp} for k, (v, exp) in self._tokens.items() if exp > now
                },
                "realms": {
                    r: {"scheme": x.scheme, "realm": x.realm, "service": x.service, "multi_scope": x.multi_scope}
                    for r, x in self._realms.items()
                },
            }
            self._dirty = False
        with contextlib.suppress(OSError):  # a read-only or full cache dir must not fail the scan
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".tmp-tokens-")  # created 0600
            try:
                os.fchmod(fd, 0o600)
                with os.fdopen(fd, "w", encoding="utf-8") as fh:
                    json.dump(doc, fh)
                os.replace(tmp, self.path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
