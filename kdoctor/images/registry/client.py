"""The OCI distribution API client: pooled connections, auth, retries, caps, digests, rate limits.

Every manifest and config is verified against its digest; a layer is verified when read to its
end. Credentials and tokens never appear in errors, logs or results (auth.Secret).
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx

import kdoctor.images.registry.auth as auth  # the module, not the face (which would import this file back)
from kdoctor.errors import RegistryError
from kdoctor.images import DEFAULT_CONCURRENCY
from kdoctor.images.registry.cache import TAG_LISTS, Cache
from kdoctor.images.registry.negotiate import Authenticator
from kdoctor.images.registry.quota import Quota
from kdoctor.images.registry.reach import Unreachable, out_of_files, remaining
from kdoctor.images.registry.reference import Reference, is_loopback_registry
from kdoctor.images.registry.tokens import TokenStore
from kdoctor.images.registry.transport import FirstContact, HostPools, SingleFlight, drain, request_timeout
from kdoctor.images.registry.verdicts import OFFLINE
from kdoctor.images.registry.wire import Manifest, digest_of, parse_manifest, read_capped, status_error
from kdoctor.platforms import ACCEPT
from kdoctor.runner import Runner, SubprocessRunner

MAX_MANIFEST = 4 << 20
MAX_CONFIG = 8 << 20
RETRY_STATUS = {429, 500, 502, 503, 504}
MANIFEST = {"Accept": ACCEPT}
T = TypeVar("T")
TIMEOUT_RETRIES = 1  # a timed-out request is tried once more, never more (the image's deadline bounds both)


@dataclass
class Stats:
    lock: threading.Lock = field(default_factory=threading.Lock)
    requests: Counter[str] = field(default_factory=Counter)  # "GET manifest", "HEAD manifest", "GET blob", ...

    def count(self, what: str) -> None:
        with self.lock:
            self.requests[what] += 1


def _backoff(attempt: int) -> float:
    """Exponential backoff with jitter, capped at 4 s."""
    return min(4.0, 0.2 * 2**attempt) * (0.5 + random.random())


class RegistryClient:
    def __init__(
        self,
        *,
        runner: Runner | None = None,
        cache: Cache | None = None,
        insecure: set[str] | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
        timeout: float = 10.0,
        retries: int = 3,
        max_age: float = 0.0,
        docker_config: auth.DockerConfig | None = None,
        max_pulls: int | None = None,
        offline: bool = False,
    ):
        self.runner = runner or SubprocessRunner()
        self.offline = offline
        self.cache = cache or Cache(enabled=False)
        self.insecure = set(insecure or ())
        self.retries = retries
        self.max_age = max_age
        self.timeout = timeout
        self.body_timeout = timeout * 3
        self.unreachable = Unreachable()
        self.stats = Stats()
        self._once = SingleFlight()  # one fetch per manifest/blob for the client's life
        self._http = HostPools(timeout=timeout, size=concurrency, offline=offline)  # tokens have their own pool
        self._first = FirstContact(wait=timeout * 2)
        self.quota = Quota(max_pulls)
        config = docker_config if docker_config is not None else auth.DockerConfig.load()
        self.tokens = TokenStore(self.cache.root if self.cache.enabled else None, persist=self.cache.enabled)
        self.auth = Authenticator(
            self._http.for_url, self.runner, config, self.stats.count, self.tokens, self.unreachable
        )

    def close(self) -> None:
        self.cache.flush()
        self.tokens.flush()
        self.auth.close()
        self._http.close()

    def plan(self, refs: list[Reference]) -> None:
        """The references a scan will read: their tokens are then asked for several scopes at a time."""
        self.auth.plan(refs)

    # -- plumbing ---------------------------------------------------------------------------
    def _base(self, ref: Reference) -> str:
        plain = is_loopback_registry(ref.registry) or ref.registry in self.insecure
        return f"{'http' if plain else 'https'}://{ref.api_host}/v2/{ref.repository}"

    def _record_rate_limit(self, ref: Reference, resp: httpx.Response) -> None:
        self.quota.observe(ref.registry, resp.headers)

    def _send(self, ref: Reference, req: httpx.Request) -> httpx.Response:
        """Send one request; a manifest GET is a pull and must fit the registry's pull quota (quota.py)."""
        if req.method != "GET":
            return self._http.send(req, stream=True)
        counted = "/manifests/" in req.url.path
        self.quota.reserve(ref.registry, counted=counted)
        if not counted:
            return self._http.send(req, stream=True)
        answered = False
        try:
            resp = self._http.send(req, stream=True)
            answered = resp.status_code < 400
            return resp
        finally:
            self.quota.settle(ref.registry, spent=answered)

    @contextmanager
    def _request(
        self,
        method: str,
        ref: Reference,
        path: str,
        what: str,
        *,
        headers: dict[str, str] | None = None,
        content: bytes | None = None,
        url: str | None = None,
    ) -> Iterator[httpx.Response]:
        """One logical request: auth challenge once, retries with backoff for 429/5xx/transport errors."""
        if self.offline:  # nothing is sent, nothing is counted (the pools refuse too, for any other caller)
            raise RegistryError(OFFLINE)
        url = url or f"{self._base(ref)}/{path}"
        challenge: str | None = None
        attempt = 0
        authed_once = False
        while True:
            self.unreachable.check(ref.registry)
            left = remaining() if what != "layer" else None  # layer reads have their own bound (body timeout)
            if left is not None and left <= 0:
                raise RegistryError(f"no answer from {ref.registry} within the {self.timeout:g}s --timeout")
            hdrs = {**(headers or {}), **self.auth.headers(ref, challenge)}
            self.stats.count(f"{method} {what}")
            try:
                req = self._http.build_request(
                    method, url, headers=hdrs, timeout=request_timeout(self.timeout, left), content=content
                )
                resp = self._send(ref, req)
            except httpx.TimeoutException:
                err: RegistryError = RegistryError(f"timed out talking to {ref.registry}")
                resp = None
                retries = min(self.retries, TIMEOUT_RETRIES)
            except httpx.TransportError as exc:
                out = self.unreachable.give_up(ref.registry, exc)
                if out is not None:  # not transient: the host is out for the rest of the run
                    raise out from None
                err = (
                    RegistryError(f"too many open files on this machine while talking to {ref.registry} (`ulimit -n`)")
                    if out_of_files(exc)
                    else RegistryError(f"cannot reach {ref.registry} ({type(exc).__name__})")
                )
                resp = None
                retries = self.retries
            if resp is None:
                delay = _backoff(attempt + 1)
                left = remaining() if what != "layer" else None
                if attempt < retries and (left is None or left > delay):
                    attempt += 1
                    time.sleep(delay)
                    continue
                raise err
            self._record_rate_limit(ref, resp)
            if resp.status_code == 401 and not authed_once:
                authed_once = True
                challenge = resp.headers.get("www-authenticate", "")
                drain(resp)
                if not challenge:
                    raise RegistryError("401 unauthorized (no challenge)", status=401)
                continue
            if resp.status_code == 429 and method == "GET" and self.quota.spent_by(ref.registry, resp):
                drain(resp)
                raise self.quota.refuse(ref.registry)
            delay = _backoff(attempt + 1)
            ra = resp.headers.get("retry-after")
            if ra and ra.strip().isdigit():
                delay = min(float(ra), 10.0)
            left = remaining() if what != "layer" else None
            if resp.status_code in RETRY_STATUS and attempt < self.retries and (left is None or left > delay):
                attempt += 1
                drain(resp)
                time.sleep(delay)
                continue
            try:
                if resp.status_code >= 400:
                    raise status_error(resp, ref.registry)
                yield resp
            finally:
                drain(resp)
            return

    def _retrying(self, fn: Callable[[], T]) -> T:
        """Re-run a whole idempotent fetch when the body broke off mid-way (bounded, with backoff)."""
        attempt = 0
        while True:
            try:
                return fn()
            except RegistryError as exc:
                left, delay = remaining(), _backoff(attempt + 1)
                if not exc.retryable or attempt >= self.retries or (left is not None and left <= delay):
                    raise
                attempt += 1
                time.sleep(delay)

    # -- API ---------------------------------------------------------------------------------
    def _get_manifest(self, ref: Reference, reference: str, expect: str | None) -> Manifest:
        return self._retrying(lambda: self._get_manifest_once(ref, reference, expect))

    def _get_manifest_once(self, ref: Reference, reference: str, expect: str | None) -> Manifest:
        path = f"manifests/{reference}"
        with self._first.contact(ref.registry), self._request("GET", ref, path, "manifest", headers=MANIFEST) as resp:
            raw = read_capped(resp, MAX_MANIFEST, "manifest", self.body_timeout)
            header = resp.headers.get("docker-content-digest")
            ctype = resp.headers.get("content-type", "")
        actual = digest_of(raw)
        want = expect or header
        if want and want.startswith("sha256:") and actual != want:
            raise RegistryError(f"manifest bytes do not match digest {want}: refusing it")
        m = parse_manifest(raw, actual, ctype)
        self.cache.put_blob(actual, raw)
        return m

    def manifest(self, ref: Reference) -> Manifest:
        """The manifest or index `ref` names, from cache when its digest is already known."""
        return self._once(f"manifest {ref}", lambda: self._manifest(ref))

    def _manifest(self, ref: Reference) -> Manifest:
        if ref.digest:
            cached = self.cache.get_blob(ref.digest)
            if cached is not None:
                return parse_manifest(cached, ref.digest, "")
            return self._get_manifest(ref, ref.digest, ref.digest)
        key = str(ref)
        note = self.cache.get_tag(key)
        noted = note.get("digest") if note else None
        if note and isinstance(noted, str):
            cached = self.cache.get_blob(noted)
            if cached is not None:
                fresh = self.max_age and time.time() - float(note.get("checked", 0)) < self.max_age
                if self.offline or fresh:  # offline: the last observation is all there is
                    return parse_manifest(cached, noted, str(note.get("media_type", "")))
                head = self.head(ref)
                if head == noted:
                    self.cache.put_tag(key, head, str(note.get("media_type", "")))
                    return parse_manifest(cached, head, str(note.get("media_type", "")))
                if head:
                    hit = self.cache.get_blob(head)
                    m = parse_manifest(hit, head, "") if hit is not None else self._get_manifest(ref, head, head)
                    self.cache.put_tag(key, m.digest, m.media_type)
                    return m
        m = self._get_manifest(ref, ref.ref, None)
        self.cache.put_tag(key, m.digest, m.media_type)
        return m

    def head(self, ref: Reference) -> str | None:
        """The digest a tag points at (HEAD does not count against Docker Hub's pull limit)."""
        path = f"manifests/{ref.ref}"
        # A HEAD is free: it waits for the first contact only while the registry's auth is unknown.
        gate = nullcontext() if self.auth.knows(ref.registry) else self._first.contact(ref.registry)
        with gate, self._request("HEAD", ref, path, "manifest", headers=MANIFEST) as resp:
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
        if digest.startswith("sha256:") and digest_of(data) != digest:
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
            return read_capped(resp, cap, "blob", self.body_timeout)

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
        """A repository's tags (for suggesting one with the platform). A list a verdict file holds is used as it
        is (suggestions are advice; a teammate's run sends only HEADs), and so is the local one when offline."""
        shared = self.cache.overlay.note(TAG_LISTS, ref.name) if self.cache.overlay is not None else None
        noted = shared or (self.cache.get_note(TAG_LISTS, ref.name) if self.offline else None)
        if noted is not None and isinstance(noted.get("tags"), list):
            self.cache.get_note(TAG_LISTS, ref.name)  # recorded for --write-verdicts
            return [t for t in noted["tags"] if isinstance(t, str)]
        out = self._tags(ref, max_pages=max_pages, page=page)
        self.cache.put_note(TAG_LISTS, ref.name, {"tags": out, "checked": time.time()})
        return out

    def _tags(self, ref: Reference, *, max_pages: int, page: int) -> list[str]:
        out: list[str] = []
        path = f"tags/list?n={page}"
        for _ in range(max_pages):
            with self._request("GET", ref, path, "tags") as resp:
                raw = read_capped(resp, MAX_MANIFEST, "tag list", self.body_timeout)
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
