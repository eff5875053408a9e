"""The OCI distribution API client: pooled connections, auth, retries, caps, digests, rate limits.

Every manifest and config is verified against its digest; a layer is verified when read to its
end. Credentials and tokens never appear in errors, logs or results (auth.Secret).
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx

from kdoctor import __version__
from kdoctor.errors import KdoctorError
from kdoctor.images import auth
from kdoctor.images.cache import Cache
from kdoctor.images.platforms import ACCEPT, INDEX_TYPES, MANIFEST_TYPES
from kdoctor.images.reference import Reference, is_loopback_registry
from kdoctor.runner import Runner, SubprocessRunner

log = logging.getLogger(__name__)

MAX_MANIFEST = 4 << 20
MAX_CONFIG = 8 << 20
RETRY_STATUS = {429, 500, 502, 503, 504}
T = TypeVar("T")


class RegistryError(KdoctorError):
    """A registry request that failed; `reason` is short, user-facing and free of secrets."""

    def __init__(self, reason: str, *, status: int | None = None, retryable: bool = False):
        self.reason = reason
        self.status = status
        self.retryable = retryable
        super().__init__(reason)


@dataclass
class Manifest:
    digest: str
    media_type: str
    raw: bytes
    data: dict[str, Any]

    @property
    def is_index(self) -> bool:
        return self.media_type in INDEX_TYPES


@dataclass
class Stats:
    lock: threading.Lock = field(default_factory=threading.Lock)
    requests: Counter[str] = field(default_factory=Counter)  # "GET manifest", "HEAD manifest", "GET blob", ...
    rate_limits: dict[str, dict[str, str]] = field(default_factory=dict)

    def count(self, what: str) -> None:
        with self.lock:
            self.requests[what] += 1


def _backoff(attempt: int) -> float:
    """Exponential backoff with jitter, capped at 4 s."""
    return min(4.0, 0.2 * 2**attempt) * (0.5 + random.random())


def _digest_of(data: bytes) -> str:
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


class RegistryClient:
    def __init__(
        self,
        *,
        runner: Runner | None = None,
        cache: Cache | None = None,
        insecure: set[str] | None = None,
        concurrency: int = 16,
        timeout: float = 10.0,
        retries: int = 3,
        max_age: float = 0.0,
        docker_config: auth.DockerConfig | None = None,
    ):
        self.runner = runner or SubprocessRunner()
        self.cache = cache or Cache(enabled=False)
        self.insecure = set(insecure or ())
        self.retries = retries
        self.max_age = max_age
        self.body_timeout = timeout * 3
        self.stats = Stats()
        self.config = docker_config if docker_config is not None else auth.DockerConfig.load()
        self._tokens = auth.TokenCache()
        self._creds: dict[str, auth.Credentials | None] = {}
        self._creds_lock = threading.Lock()
        self._basic: dict[str, bool] = {}
        self._memo: dict[str, Future[Any]] = {}
        self._memo_lock = threading.Lock()
        self._token_locks: dict[tuple[str, str, str], threading.Lock] = {}
        self._http = httpx.Client(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
            follow_redirects=True,  # blobs live on CDNs; httpx drops Authorization across origins
            headers={"User-Agent": f"kdoctor/{__version__}"},
        )

    def close(self) -> None:
        self.cache.flush()
        self._http.close()

    # -- plumbing ---------------------------------------------------------------------------
    def _base(self, ref: Reference) -> str:
        plain = is_loopback_registry(ref.registry) or ref.registry in self.insecure
        return f"{'http' if plain else 'https'}://{ref.api_host}/v2/{ref.repository}"

    def _credentials(self, registry: str) -> auth.Credentials | None:
        with self._creds_lock:
            if registry not in self._creds:
                self._creds[registry] = auth.lookup(registry, self.config, self.runner)
            return self._creds[registry]

    def _auth_header(self, ref: Reference, challenge: str | None) -> dict[str, str]:
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
                self.stats.count("POST token")
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
                self.stats.count("GET token")
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

    def _record_rate_limit(self, ref: Reference, resp: httpx.Response) -> None:
        limit = resp.headers.get("ratelimit-limit")
        if limit is None:
            return
        with self.stats.lock:
            self.stats.rate_limits[ref.registry] = {
                "limit": limit,
                "remaining": resp.headers.get("ratelimit-remaining", ""),
                "source": resp.headers.get("docker-ratelimit-source", ""),
            }

    @contextmanager
    def _request(
        self, method: str, ref: Reference, path: str, what: str, *, headers: dict[str, str] | None = None
    ) -> Iterator[httpx.Response]:
        """One logical request: auth challenge once, retries with backoff for 429/5xx/transport errors."""
        url = f"{self._base(ref)}/{path}"
        challenge: str | None = None
        attempt = 0
        authed_once = False
        while True:
            hdrs = {**(headers or {}), **self._auth_header(ref, challenge)}
            self.stats.count(f"{method} {what}")
            try:
                req = self._http.build_request(method, url, headers=hdrs)
                resp = self._http.send(req, stream=True)
            except httpx.TimeoutException:
                err: RegistryError = RegistryError(f"timed out talking to {ref.registry}")
                resp = None
            except httpx.TransportError as exc:
                err = RegistryError(f"cannot reach {ref.registry} ({type(exc).__name__})")
                resp = None
            if resp is None:
                if attempt < self.retries:
                    attempt += 1
                    time.sleep(_backoff(attempt))
                    continue
                raise err
            self._record_rate_limit(ref, resp)
            if resp.status_code == 401 and not authed_once:
                authed_once = True
                challenge = resp.headers.get("www-authenticate", "")
                resp.close()
                if not challenge:
                    raise RegistryError("401 unauthorized (no challenge)", status=401)
                continue
            if resp.status_code in RETRY_STATUS and attempt < self.retries:
                attempt += 1
                delay = _backoff(attempt)
                ra = resp.headers.get("retry-after")
                if ra and ra.strip().isdigit():
                    delay = min(float(ra), 10.0)
                resp.close()
                time.sleep(delay)
                continue
            try:
                if resp.status_code >= 400:
                    raise self._status_error(resp, ref)
                yield resp
            finally:
                resp.close()
            return

    def _status_error(self, resp: httpx.Response, ref: Reference) -> RegistryError:
        code = resp.status_code
        detail = ""
        try:
            body = resp.read()[:4096]
            errors = json.loads(body).get("errors") or []
            if errors and isinstance(errors[0], dict):
                detail = str(errors[0].get("code", ""))
        except Exception:  # any body at all: the status code is the message
            detail = ""
        if code == 401:
            return RegistryError("401 unauthorized: credentials missing or refused", status=code)
        if code == 403:
            return RegistryError("403 forbidden", status=code)
        if code == 404:
            what = "manifest unknown" if detail in ("MANIFEST_UNKNOWN", "") else detail.lower().replace("_", " ")
            return RegistryError(f"404 not found ({what})", status=code)
        if code == 429:
            return RegistryError(f"429 rate limited by {ref.registry}", status=code)
        return RegistryError(f"{code} from {ref.registry}" + (f" ({detail})" if detail else ""), status=code)

    def _read_capped(self, resp: httpx.Response, cap: int, what: str) -> bytes:
        declared = resp.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > cap:
            raise RegistryError(f"{what} is {declared} bytes, over the {cap}-byte cap")
        buf = bytearray()
        # A per-read timeout does not stop a server that trickles one byte at a time: bound the whole body.
        deadline = time.monotonic() + self.body_timeout
        try:
            for chunk in resp.iter_bytes():
                buf += chunk
                if len(buf) > cap:
                    raise RegistryError(f"{what} is over the {cap}-byte cap")
                if time.monotonic() > deadline:
                    raise RegistryError(f"the {what} arrived too slowly (over {self.body_timeout:g}s)")
        except httpx.HTTPError as exc:
            raise RegistryError(
                f"connection broke while reading the {what} ({type(exc).__name__})", retryable=True
            ) from None
        return bytes(buf)

    def _retrying(self, fn: Callable[[], T]) -> T:
        """Re-run a whole idempotent fetch when the body broke off mid-way (bounded, with backoff)."""
        attempt = 0
        while True:
            try:
                return fn()
            except RegistryError as exc:
                if not exc.retryable or attempt >= self.retries:
                    raise
                attempt += 1
                time.sleep(_backoff(attempt))

    # -- API ---------------------------------------------------------------------------------
    def _parse_manifest(self, raw: bytes, digest: str, content_type: str) -> Manifest:
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise RegistryError("the manifest is not valid JSON") from None
        if not isinstance(data, dict):
            raise RegistryError("the manifest is not a JSON object")
        mt = str(data.get("mediaType") or content_type.split(";")[0].strip())
        if mt not in INDEX_TYPES | MANIFEST_TYPES:
            if "manifests" in data:
                mt = "application/vnd.oci.image.index.v1+json"
            elif "layers" in data and "config" in data:
                mt = "application/vnd.oci.image.manifest.v1+json"
            else:
                raise RegistryError(f"unsupported manifest type {mt or '(none)'}")
        return Manifest(digest, mt, raw, data)

    def _get_manifest(self, ref: Reference, reference: str, expect: str | None) -> Manifest:
        return self._retrying(lambda: self._get_manifest_once(ref, reference, expect))

    def _get_manifest_once(self, ref: Reference, reference: str, expect: str | None) -> Manifest:
        with self._request("GET", ref, f"manifests/{reference}", "manifest", headers={"Accept": ACCEPT}) as resp:
            raw = self._read_capped(resp, MAX_MANIFEST, "manifest")
            header = resp.headers.get("docker-content-digest")
            ctype = resp.headers.get("content-type", "")
        actual = _digest_of(raw)
        want = expect or header
        if want and want.startswith("sha256:") and actual != want:
            raise RegistryError(f"manifest bytes do not match digest {want}: refusing it")
        m = self._parse_manifest(raw, actual, ctype)
        self.cache.put_blob(actual, raw)
        return m

    def _once(self, key: str, fn: Callable[[], T]) -> T:
        """Run `fn` once per key for this client's life; concurrent callers wait for the first."""
        with self._memo_lock:
            fut = self._memo.get(key)
            owner = fut is None
            if fut is None:
                fut = self._memo[key] = Future()
        if not owner:
            return fut.result()  # type: ignore[no-any-return]
        try:
            value = fn()
        except BaseException as exc:
            fut.set_exception(exc)
            raise
        fut.set_result(value)
        return value

    def manifest(self, ref: Reference) -> Manifest:
        """The manifest or index `ref` names, from cache when its digest is already known."""
        return self._once(f"manifest {ref}", lambda: self._manifest(ref))

    def _manifest(self, ref: Reference) -> Manifest:
        if ref.digest:
            cached = self.cache.get_blob(ref.digest)
            if cached is not None:
                return self._parse_manifest(cached, ref.digest, "")
            return self._get_manifest(ref, ref.digest, ref.digest)
        key = str(ref)
        note = self.cache.get_tag(key)
        if note and isinstance(note.get("digest"), str):
            cached = self.cache.get_blob(note["digest"])
            if cached is not None:
                if self.max_age and time.time() - float(note.get("checked", 0)) < self.max_age:
                    return self._parse_manifest(cached, note["digest"], str(note.get("media_type", "")))
                head = self.head(ref)
                if head == note["digest"]:
                    self.cache.put_tag(key, head, str(note.get("media_type", "")))
                    return self._parse_manifest(cached, head, str(note.get("media_type", "")))
                if head:
                    hit = self.cache.get_blob(head)
                    m = self._parse_manifest(hit, head, "") if hit is not None else self._get_manifest(ref, head, head)
                    self.cache.put_tag(key, m.digest, m.media_type)
                    return m
        m = self._get_manifest(ref, ref.ref, None)
        self.cache.put_tag(key, m.digest, m.media_type)
        return m

    def head(self, ref: Reference) -> str | None:
        """The digest a tag points at (HEAD does not count against Docker Hub's pull limit)."""
        with self._request("HEAD", ref, f"manifests/{ref.ref}", "manifest", headers={"Accept": ACCEPT}) as resp:
            digest = resp.headers.get("docker-content-digest")
        return digest if digest and digest.startswith("sha256:") else None

    def child(self, ref: Reference, digest: str) -> Manifest:
        return self.manifest(Reference(ref.registry, ref.repository, None, digest))

    def blob(self, ref: Reference, digest: str, *, cap: int = MAX_CONFIG) -> bytes:
        return self._once(f"blob {ref.name}@{digest}", lambda: self._blob(ref, digest, cap))

    def _blob(self, ref: Reference, digest: str, cap: int) -> bytes:
        cached = self.cache.get_blob(digest)
        if cached is not None:
            return cached
        data = self._retrying(lambda: self._blob_once(ref, digest, cap))
        if digest.startswith("sha256:") and _digest_of(data) != digest:
            raise RegistryError(f"blob bytes do not match digest {digest}: refusing it")
        self.cache.put_blob(digest, data)
        return data

    def image_config(self, ref: Reference, manifest: dict[str, Any]) -> dict[str, Any]:
        """The image config a manifest names, parsed (verified against its digest like every blob)."""
        desc = manifest.get("config")
        digest = desc.get("digest") if isinstance(desc, dict) else None
        if not isinstance(digest, str):
            raise RegistryError("the manifest names no config blob")
        try:
            cfg = json.loads(self.blob(ref, digest))
        except ValueError:
            raise RegistryError("the image config is not valid JSON") from None
        if not isinstance(cfg, dict):
            raise RegistryError("the image config is not a JSON object")
        return cfg

    def _blob_once(self, ref: Reference, digest: str, cap: int) -> bytes:
        with self._request("GET", ref, f"blobs/{digest}", "blob") as resp:
            return self._read_capped(resp, cap, "blob")

    @contextmanager
    def blob_stream(self, ref: Reference, digest: str) -> Iterator[Iterator[bytes]]:
        """Compressed layer bytes as they arrive; the caller verifies the digest when it reads to the end."""
        with self._request("GET", ref, f"blobs/{digest}", "layer") as resp:

            def chunks() -> Iterator[bytes]:
                try:
                    yield from resp.iter_bytes(chunk_size=1 << 20)
                except httpx.HTTPError as exc:
                    raise RegistryError(
                        f"connection broke while reading layer {digest[:19]} ({type(exc).__name__})"
                    ) from None

            yield chunks()

    def tags(self, ref: Reference, *, max_pages: int = 5, page: int = 1000) -> list[str]:
        out: list[str] = []
        path = f"tags/list?n={page}"
        for _ in range(max_pages):
            with self._request("GET", ref, path, "tags") as resp:
                raw = self._read_capped(resp, MAX_MANIFEST, "tag list")
                link = resp.headers.get("link", "")
            try:
                doc = json.loads(raw)
            except ValueError:
                raise RegistryError("the tag list is not valid JSON") from None
            out.extend(t for t in (doc.get("tags") or []) if isinstance(t, str))
            if 'rel="next"' not in link:
                break
            nxt = link.split(";")[0].strip().strip("<>")
            if "?" not in nxt:
                break
            path = "tags/list?" + nxt.split("?", 1)[1]
        return out
