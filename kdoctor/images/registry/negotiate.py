"""Registry authentication: credentials from the Docker config, the 401 challenge, tokens and Basic auth.

The realm is learned from the first 401 of a registry (or from an earlier run) and tokens are then
fetched before the request, without a 401 probe per repository. Where the scan knows its repositories
in advance, one token request asks for several scopes (Docker's token spec allows repeated `scope`
parameters); whether the service honoured them is read from the token's `access` claim, or learned
from a 401 on use, and the registry falls back to one scope per request. Tokens are fetched once per
scope across threads and kept in tokens.TokenStore; credentials and tokens stay inside auth.Secret and
never reach errors, logs or results.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from contextvars import ContextVar
from urllib.parse import urlsplit

import httpx

import kdoctor.images.registry.auth as auth  # the module, not the face (which would import this file back)
from kdoctor.errors import RegistryError
from kdoctor.images.registry.reach import Unreachable, remaining
from kdoctor.images.registry.reference import Reference
from kdoctor.images.registry.tokens import Realm, TokenStore, identity
from kdoctor.images.registry.transport import request_timeout
from kdoctor.runner import Runner

BATCH = 20  # scopes per token request: keeps the token (an Authorization header) a few KB
LOOKAHEAD = 4  # batches fetched ahead of the scan, so workers rarely wait for a token
AHEAD = 24  # where each token holds one scope: scopes fetched ahead, beside the registry requests
TOKEN_THREADS = 8


# Set while kdoctor pushes (a verdict artifact, issue 24): the token asked for must grant push too.
PUSHING: ContextVar[bool] = ContextVar("kdoctor_pushing", default=False)


def _scope(ref: Reference) -> str:
    return f"repository:{ref.repository}:{'pull,push' if PUSHING.get() else 'pull'}"


def granted_scopes(token: str) -> set[str] | None:
    """The pull scopes a JWT's `access` claim grants; None when the token is not a JWT that says."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
        access = claims.get("access")
        if not isinstance(access, list):
            return None
        return {
            f"{a['type']}:{a['name']}:pull"
            for a in access
            if isinstance(a, dict) and isinstance(a.get("actions"), list) and "pull" in a["actions"]
        }
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


class Authenticator:
    def __init__(
        self,
        http_for: Callable[[str], httpx.Client],
        runner: Runner,
        config: auth.DockerConfig,
        count: Callable[[str], None],
        store: TokenStore,
        unreachable: Unreachable | None = None,
    ) -> None:
        self._http_for = http_for
        # The registry client's: a token service refused or not in DNS is given up on for the run, as a
        # registry is, instead of every image trying it again (and waiting on it) before failing.
        self._unreachable = unreachable or Unreachable()
        self._runner = runner
        self._config = config
        self._count = count
        self._store = store
        self._creds: dict[str, auth.Credentials | None] = {}
        self._lock = threading.RLock()
        self._single: dict[tuple[str, str], threading.Lock] = {}
        self._plan: dict[str, list[str]] = {}  # registry -> scopes, in scan order
        self._pos: dict[tuple[str, str], int] = {}  # a scope's place in the plan
        self._queued: set[tuple[str, str]] = set()
        self._batches: dict[tuple[str, int], Future[None]] = {}
        self._batched: set[tuple[str, str]] = set()  # scopes held by a several-scope token not yet proven
        self._sent = threading.local()  # the token this thread sent last, to tell a refused token on a 401
        self._pool: ThreadPoolExecutor | None = None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)

    def plan(self, refs: Iterable[Reference]) -> None:
        """The repositories a scan will read, so their tokens can be asked for several at a time."""
        with self._lock:
            for ref in refs:
                scopes = self._plan.setdefault(ref.registry, [])
                if (ref.registry, _scope(ref)) not in self._pos:
                    self._pos[(ref.registry, _scope(ref))] = len(scopes)
                    scopes.append(_scope(ref))

    def knows(self, registry: str) -> bool:
        """Is this registry's auth known (from this run or an earlier one), so requests need no probe?"""
        return self._store.realm(registry) is not None

    def _credentials(self, registry: str) -> auth.Credentials | None:
        with self._lock:
            if registry not in self._creds:
                self._creds[registry] = auth.lookup(registry, self._config, self._runner)
            return self._creds[registry]

    def _ident(self, registry: str) -> str:
        return identity(self._credentials(registry))

    def headers(self, ref: Reference, challenge: str | None) -> dict[str, str]:
        """Authorization for a request to `ref`'s repository; `challenge` is the 401 the last one got."""
        scope = _scope(ref)
        if challenge is not None:
            return self._answer(ref, scope, challenge)
        self._sent.value = None
        realm = self._store.realm(ref.registry)
        if realm is not None and realm.scheme == "basic":
            return self._basic_header(ref.registry)
        token = self._store.get(ref.registry, scope, self._ident(ref.registry))
        if token is None and realm is not None and realm.scheme == "bearer":
            token = self._token(ref, realm, scope)
        if token is None:
            return {}  # the registry's auth is not known yet: this request finds out
        self._sent.value = token.reveal()
        return {"Authorization": f"Bearer {token.reveal()}"}

    def _answer(self, ref: Reference, scope: str, challenge: str) -> dict[str, str]:
        registry = ref.registry
        scheme, params = auth.parse_challenge(challenge)
        sent = getattr(self._sent, "value", None)
        old = self._store.realm(registry)
        multi = old.multi_scope if old is not None else None
        if sent is not None:
            # The token was refused: never send it again; if it held several scopes, stop asking for several.
            ident = self._ident(registry)
            held = self._store.get(registry, scope, ident)
            if held is not None and held.reveal() == sent:
                self._store.drop(registry, scope, ident)
            if (registry, scope) in self._batched:
                # The service ignored the other scopes: every unproven several-scope token is dropped.
                multi = False
                with self._lock:
                    doubtful = [s for r, s in self._batched if r == registry]
                    self._batched -= {(registry, s) for s in doubtful}
                for s in doubtful:
                    self._store.drop(registry, s, ident)
        if scheme == "basic":
            self._store.put_realm(registry, Realm("basic"))
            hdr = self._basic_header(registry)
            if not hdr:
                raise RegistryError("401 unauthorized: the registry wants a login and none is configured", status=401)
            return hdr
        if scheme != "bearer" or not params.get("realm"):
            raise RegistryError(f"401 unauthorized: unsupported auth challenge {scheme!r}", status=401)
        realm = Realm("bearer", params["realm"], params.get("service", ""), multi)
        self._store.put_realm(registry, realm)
        want = params.get("scope") or scope
        token = self._token(ref, realm, scope) if want == scope and sent is None else self._one(registry, realm, want)
        self._sent.value = token.reveal()
        return {"Authorization": f"Bearer {token.reveal()}"}

    def _basic_header(self, registry: str) -> dict[str, str]:
        creds = self._credentials(registry)
        if not creds or not creds.username or not creds.password:
            return {}
        raw = f"{creds.username}:{creds.password.reveal()}".encode()
        return {"Authorization": "Basic " + base64.b64encode(raw).decode()}

    # -- tokens ------------------------------------------------------------------------------------
    def _token(self, ref: Reference, realm: Realm, scope: str) -> auth.Secret:
        pos = self._pos.get((ref.registry, scope))
        if pos is None or len(self._plan[ref.registry]) <= 1:
            return self._one(ref.registry, realm, scope)
        if realm.multi_scope is False:
            # One scope per token: the next scopes' tokens are fetched beside this worker's requests, so
            # a reference costs the registry round trip only (the token one overlaps).
            for s in self._plan[ref.registry][pos + 1 : pos + 1 + AHEAD]:
                with self._lock:
                    if (ref.registry, s) in self._queued:
                        continue
                    self._queued.add((ref.registry, s))
                self._submit(self._one, ref.registry, realm, s)
            return self._one(ref.registry, realm, scope)
        idx = pos // BATCH
        last = (len(self._plan[ref.registry]) - 1) // BATCH
        futs = [self._batch(ref.registry, realm, i) for i in range(idx, min(last, idx + LOOKAHEAD) + 1)]
        futs[0].result()  # its errors surface below, from the one-scope fetch
        token = self._store.get(ref.registry, scope, self._ident(ref.registry))
        return token if token is not None else self._one(ref.registry, realm, scope)

    def _batch(self, registry: str, realm: Realm, idx: int) -> Future[None]:
        with self._lock:  # re-entrant: _submit takes it too
            fut = self._batches.get((registry, idx))
            if fut is None:
                fut = self._batches[(registry, idx)] = self._submit(self._fetch_batch, registry, realm, idx)
        return fut

    def _submit(self, fn: Callable[..., object], *args: object) -> Future[None]:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(TOKEN_THREADS, thread_name_prefix="token")
            pool = self._pool
        try:
            return pool.submit(fn, *args)  # type: ignore[arg-type]
        except RuntimeError:  # shut down at the end of the run
            done: Future[None] = Future()
            done.set_result(None)
            return done

    def _fetch_batch(self, registry: str, realm: Realm, idx: int) -> None:
        scopes = self._plan[registry][idx * BATCH : (idx + 1) * BATCH]
        try:
            value, expires = self._new_token(registry, realm, scopes)
        except RegistryError:
            return  # each scope falls back to its own request, which reports the error
        granted = granted_scopes(value.reveal())
        ident = self._ident(registry)
        for s in scopes if granted is None else [s for s in scopes if s in granted]:
            self._store.put(registry, s, ident, value, expires)
            if granted is None and len(scopes) > 1:
                with self._lock:
                    self._batched.add((registry, s))
        if granted is not None and len(scopes) > 1 and realm.multi_scope is None:
            self._store.put_realm(registry, Realm(realm.scheme, realm.realm, realm.service, set(scopes) <= granted))

    def _one(self, registry: str, realm: Realm, scope: str) -> auth.Secret:
        key = (registry, scope)
        with self._lock:
            lock = self._single.setdefault(key, threading.Lock())
        with lock:  # concurrent requests for one scope share one token fetch
            ident = self._ident(registry)
            cached = self._store.get(registry, scope, ident)
            if cached is not None and (registry, scope) not in self._batched:
                return cached
            value, expires = self._new_token(registry, realm, [scope])
            self._store.put(registry, scope, ident, value, expires)
            with self._lock:
                self._batched.discard(key)
            return value

    def _new_token(self, registry: str, realm: Realm, scopes: list[str]) -> tuple[auth.Secret, float]:
        creds = self._credentials(registry)
        host = urlsplit(realm.realm).netloc
        self._unreachable.check(host)
        http = self._http_for(realm.realm)
        left = remaining()  # a token is one of the image's lookups: it stops at the image's deadline
        if left is not None and left <= 0:
            raise RegistryError(f"no answer from the token service {host} within the --timeout")
        timeout = request_timeout(http.timeout.read or 10.0, left)  # the client's own is the --timeout
        try:
            if creds and creds.identity_token:
                self._count("POST token")
                form = {
                    "grant_type": "refresh_token",
                    "refresh_token": creds.identity_token.reveal(),
                    "service": realm.service,
                    "scope": " ".join(scopes),  # oauth2: one space-delimited scope field
                    "client_id": "kdoctor",
                }
                resp = http.post(realm.realm, data=form, timeout=timeout)
            else:
                params: list[tuple[str, str | int | float | bool | None]] = [("scope", s) for s in scopes]
                params.append(("client_id", "kdoctor"))
                if realm.service:
                    params.append(("service", realm.service))
                basic = None
                if creds and creds.username and creds.password:
                    basic = (creds.username, creds.password.reveal())
                    params.append(("account", creds.username))
                self._count("GET token")
                resp = http.get(realm.realm, params=params, auth=basic, timeout=timeout)
        except httpx.HTTPError as exc:
            out = self._unreachable.give_up(host, exc)
            if out is not None:
                raise out from None
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
        return auth.Secret(value), expires
