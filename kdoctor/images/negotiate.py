"""Registry authentication: credentials from the Docker config, the 401 challenge, tokens and Basic auth.

Tokens are cached per (realm, service, scope) and fetched once per scope across threads; credentials
and tokens stay inside auth.Secret and never reach errors, logs or results.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable

import httpx

from kdoctor.errors import RegistryError
from kdoctor.images import auth
from kdoctor.images.reference import Reference
from kdoctor.runner import Runner


class Authenticator:
    def __init__(
        self, http: httpx.Client, runner: Runner, config: auth.DockerConfig, count: Callable[[str], None]
    ) -> None:
        self._http = http
        self._runner = runner
        self._config = config
        self._count = count
        self._tokens = auth.TokenCache()
        self._creds: dict[str, auth.Credentials | None] = {}
        self._creds_lock = threading.Lock()
        self._basic: dict[str, bool] = {}
        self._token_locks: dict[tuple[str, str, str], threading.Lock] = {}

    def _credentials(self, registry: str) -> auth.Credentials | None:
        with self._creds_lock:
            if registry not in self._creds:
                self._creds[registry] = auth.lookup(registry, self._config, self._runner)
            return self._creds[registry]

    def headers(self, ref: Reference, challenge: str | None) -> dict[str, str]:
        if challenge is None:
            tok = self._tokens.get((ref.registry, "", f"repository:{ref.repository}:pull"))
            if tok:
                return {"Authorization": f"Bearer {tok.reveal()}"}
            if self._basic.get(ref.registry):
                return self._basic_header(ref.registry)
            return {}
        scheme, params = auth.parse_challenge(challenge)
        if scheme == "basic":
            self._basic[ref.registry] = True
            hdr = self._basic_header(ref.registry)
            if not hdr:
                raise RegistryError("401 unauthorized: the registry wants a login and none is configured", status=401)
            return hdr
        if scheme != "bearer" or not params.get("realm"):
            raise RegistryError(f"401 unauthorized: unsupported auth challenge {scheme!r}", status=401)
        scope = params.get("scope") or f"repository:{ref.repository}:pull"
        token = self._fetch_token(ref, params["realm"], params.get("service", ""), scope)
        self._tokens.put((ref.registry, "", f"repository:{ref.repository}:pull"), token.reveal(), 60)
        return {"Authorization": f"Bearer {token.reveal()}"}

    def _basic_header(self, registry: str) -> dict[str, str]:
        creds = self._credentials(registry)
        if not creds or not creds.username or not creds.password:
            return {}
        raw = f"{creds.username}:{creds.password.reveal()}".encode()
        return {"Authorization": "Basic " + base64.b64encode(raw).decode()}

    def _fetch_token(self, ref: Reference, realm: str, service: str, scope: str) -> auth.Secret:
        key = (realm, service, scope)
        with self._creds_lock:
            lock = self._token_locks.setdefault(key, threading.Lock())
        with lock:  # concurrent requests for one scope share one token fetch
            cached = self._tokens.get(key)
            if cached:
                return cached
            return self._new_token(ref, key)

    def _new_token(self, ref: Reference, key: tuple[str, str, str]) -> auth.Secret:
        realm, service, scope = key
        creds = self._credentials(ref.registry)
        try:
            if creds and creds.identity_token:
                self._count("POST token")
                resp = self._http.post(
                    realm,
                    data={
                        "grant_type": "refresh_token",
                        "refresh_token": creds.identity_token.reveal(),
                        "service": service,
                        "scope": scope,
                        "client_id": "kdoctor",
                    },
                )
            else:
                params = {"scope": scope, "client_id": "kdoctor"}
                if service:
                    params["service"] = service
                basic = None
                if creds and creds.username and creds.password:
                    basic = (creds.username, creds.password.reveal())
                    params["account"] = creds.username
                self._count("GET token")
                resp = self._http.get(realm, params=params, auth=basic)
        except httpx.HTTPError as exc:
            raise RegistryError(f"token service unreachable ({type(exc).__name__})") from None
        if resp.status_code in (401, 403):
            raise RegistryError(
                f"{resp.status_code} unauthorized: the token service refused "
                f"{'the configured credentials' if creds else 'anonymous access'}",
                status=401,
            )
        if resp.status_code != 200:
            raise RegistryError(f"token service answered {resp.status_code}", status=resp.status_code)
        try:
            doc = resp.json()
            value = doc.get("token") or doc.get("access_token")
            expires = float(doc.get("expires_in") or 60)
        except (ValueError, AttributeError, TypeError):
            raise RegistryError("token service answered with something that is not a token") from None
        if not isinstance(value, str) or not value:
            raise RegistryError("token service answered without a token")
        return self._tokens.put(key, value, expires)
