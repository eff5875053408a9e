"""A Docker Hub-like front for the real registry server, at a chosen network distance (loopback only).

Two asyncio servers on 127.0.0.1, run on their own event loop thread:
  - the registry front: answers 401 + `Bearer realm=…,service=…,scope=repository:<repo>:pull` unless the
    request carries a token granting that repository, counts manifest GETs as pulls (RateLimit-Limit and
    RateLimit-Remaining headers on manifest answers, `429 toomanyrequests` once the quota is spent; HEADs
    are not counted, as on Docker Hub), and forwards everything else to the real registry over kept-alive
    upstream connections;
  - the token service on its own port: tokens per scope, JWT-shaped with the `access` claim listing what
    they grant; it honours several `scope` parameters when `multi_scope` is set, else only the first
    (as tests/support/token_server.py used to).
Both add `rtt` seconds before each answer and one more `rtt` on the first answer of a new connection
(the TCP handshake). Sources for the Hub behaviour: docker/docs content/manuals/docker-hub/usage/pulls.md
and distribution.github.io/distribution/spec/auth/token (see /work/shared/reference registries notes).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

SERVICE = "bench.registry"
KEY = secrets.token_bytes(32)
JWT_HEAD = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').rstrip(b"=").decode()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class HubProxy:
    upstream: str  # "127.0.0.1:PORT" of the real registry
    rtt: float = 0.0
    multi_scope: bool = True
    pulls_limit: int | None = None  # None: no rate-limit headers and no quota
    pulls_used: int = 0
    rate_headers: bool = True  # send RateLimit-* headers (some registries answer 429 without them)
    retry_after: str | None = None
    auth: bool = True
    hide_access: bool = False  # tokens without the `access` claim (opaque to the client; grants kept here)
    others_per_get: int = 0  # pulls other clients spend beside each of ours (the quota shrinks faster)
    counts: Counter[str] = field(default_factory=Counter)  # "GET manifest", "new conn registry", "429", ...
    log: list[tuple[str, str, int]] = field(default_factory=list)  # (method, path, status), in order
    _first_429: float | None = None  # when the first 429 went out

    # -- life ---------------------------------------------------------------------------------------
    def start(self) -> None:
        self._loop = asyncio.new_event_loop()
        ready = threading.Event()
        threading.Thread(target=self._run, args=(ready,), daemon=True).start()
        if not ready.wait(10):
            raise RuntimeError("the hub proxy did not start")

    def _run(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self._loop)
        self._pool: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self._grants: dict[str, set[str]] = {}  # token signature -> repositories it grants
        reg = self._loop.run_until_complete(asyncio.start_server(self._serve_registry, "127.0.0.1", 0))
        tok = self._loop.run_until_complete(asyncio.start_server(self._serve_token, "127.0.0.1", 0))
        self._servers = [reg, tok]
        self.host = f"127.0.0.1:{reg.sockets[0].getsockname()[1]}"
        self.token_host = f"127.0.0.1:{tok.sockets[0].getsockname()[1]}"
        ready.set()
        self._loop.run_forever()

    def stop(self) -> None:
        async def close() -> None:
            for s in self._servers:
                s.close()
            for _, w in self._pool:
                w.close()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)

    def reset(self, **settings: object) -> None:
        """New counters (and settings) for the next phase of a benchmark or test."""
        self.counts = Counter()
        self.log = []
        self.pulls_used = 0
        self._first_429: float | None = None
        for k, v in settings.items():
            setattr(self, k, v)

    @property
    def realm(self) -> str:
        return f"http://{self.token_host}/token"

    # -- HTTP/1.1 plumbing --------------------------------------------------------------------------
    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, which: str) -> None:
        self.counts[f"new conn {which}"] += 1
        first = True
        try:
            for _ in range(100_000):  # bounded: a connection serves at most this many requests
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                line, *rest = head.decode("latin-1").split("\r\n")
                method, target, _ = line.split(" ", 2)
                headers = {}
                for h in rest:
                    if ":" in h:
                        k, _, v = h.partition(":")
                        headers[k.strip().lower()] = v.strip()
                body = b""
                if headers.get("content-length", "0").isdigit() and int(headers.get("content-length", "0")):
                    body = await reader.readexactly(int(headers["content-length"]))
                arrived = time.monotonic()
                # One round trip per exchange, one more for the handshake of a new connection.
                await asyncio.sleep(self.rtt * (2 if first else 1))
                first = False
                if which == "registry":
                    status, hdrs, payload = await self._registry(method, target, headers, arrived)
                else:
                    status, hdrs, payload = self._token(method, target, headers, body)
                self.log.append((method, target, status))
                out = [f"HTTP/1.1 {status} X", *(f"{k}: {v}" for k, v in hdrs.items())]
                out.append(f"Content-Length: {len(payload)}")
                writer.write(("\r\n".join(out) + "\r\n\r\n").encode("latin-1"))
                if method != "HEAD":
                    writer.write(payload)
                await writer.drain()
                if headers.get("connection", "").lower() == "close":
                    return
        finally:
            writer.close()

    async def _serve_registry(self, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await self._connection(r, w, "registry")

    async def _serve_token(self, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await self._connection(r, w, "token")

    async def _forward(self, method: str, target: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        for attempt in range(2):
            if self._pool:
                reader, writer = self._pool.pop()
            else:
                host, _, port = self.upstream.partition(":")
                reader, writer = await asyncio.open_connection(host, int(port))
            keep = {k: v for k, v in headers.items() if k in ("accept", "range")}
            req = [f"{method} {target} HTTP/1.1", f"Host: {self.upstream}", *(f"{k}: {v}" for k, v in keep.items())]
            try:
                writer.write(("\r\n".join(req) + "\r\n\r\n").encode("latin-1"))
                head = await reader.readuntil(b"\r\n\r\n")
                line, *rest = head.decode("latin-1").split("\r\n")
                status = int(line.split(" ")[1])
                hdrs: dict[str, str] = {}
                for h in rest:
                    if ":" in h:
                        k, _, v = h.partition(":")
                        hdrs[k.strip()] = v.strip()
                low = {k.lower(): v for k, v in hdrs.items()}
                body = b""
                if method != "HEAD" and low.get("transfer-encoding", "").lower() == "chunked":
                    while True:
                        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                        chunk = await reader.readexactly(size + 2)
                        if size == 0:
                            break
                        body += chunk[:-2]
                elif method != "HEAD":
                    body = await reader.readexactly(int(low.get("content-length", "0")))
            except (asyncio.IncompleteReadError, ConnectionError, ValueError):
                writer.close()
                if attempt:
                    return 502, {}, b""
                continue
            self._pool.append((reader, writer))
            drop = ("content-length", "transfer-encoding", "connection", "keep-alive")
            return status, {k: v for k, v in hdrs.items() if k.lower() not in drop}, body
        return 502, {}, b""

    # -- the registry front -------------------------------------------------------------------------
    async def _registry(
        self, method: str, target: str, headers: dict[str, str], arrived: float
    ) -> tuple[int, dict[str, str], bytes]:
        path = urlsplit(target).path
        parts = path.split("/")
        kind = "manifest" if "/manifests/" in path else "blob" if "/blobs/" in path else "other"
        repo = path[len("/v2/") :].split(f"/{parts[-2]}/")[0] if kind != "other" else ""
        if self.auth and not self._granted(headers.get("authorization", ""), repo):
            self.counts["401"] += 1
            scope = f',scope="repository:{repo}:pull"' if repo else ""
            challenge = f'Bearer realm="{self.realm}",service="{SERVICE}"{scope}'
            body = b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}'
            return 401, {"Content-Type": "application/json", "Www-Authenticate": challenge}, body
        self.counts[f"{method} {kind}"] += 1  # authorised requests only; the 401s are counted apart
        extra: dict[str, str] = {}
        if kind == "manifest" and self.pulls_limit is not None:
            if method == "GET":
                # Sent after the client had the 429, not on its way already: 100 ms for this loop's lag and the
                # client's own time to read the 429 while its other threads are mid-send on 2 loaded CPUs (20 ms
                # failed once in CI). A client that ignores the 429 sends GET after GET for the rest of its run
                # (most of a second for 100 refs), so the margin hides only the first of them.
                if self._first_429 is not None and arrived > self._first_429 + 0.1:
                    self.counts["GET after 429"] += 1
                if self.pulls_used >= self.pulls_limit:
                    self.counts["429"] += 1
                    if self._first_429 is None:
                        self._first_429 = time.monotonic()
                    hdrs = {"Content-Type": "application/json", **self._rate_headers()}
                    if self.retry_after:
                        hdrs["Retry-After"] = self.retry_after
                    # Docker Hub's message, verbatim from docker/docs#21908.
                    msg = (
                        b'{"errors":[{"code":"TOOMANYREQUESTS","message":"You have reached your pull rate limit. '
                        b"You may increase the limit by authenticating and upgrading: "
                        b'https://www.docker.com/increase-rate-limit"}]}'
                    )
                    return 429, hdrs, msg
                self.pulls_used += 1 + self.others_per_get
            extra = self._rate_headers()
        status, hdrs, body = await self._forward(method, target, headers)
        return status, {**hdrs, **extra}, body

    def _rate_headers(self) -> dict[str, str]:
        if self.pulls_limit is None or not self.rate_headers:
            return {}
        left = max(0, self.pulls_limit - self.pulls_used)
        return {"RateLimit-Limit": f"{self.pulls_limit};w=21600", "RateLimit-Remaining": f"{left};w=21600"}

    def _granted(self, authorization: str, repo: str) -> bool:
        if not authorization.startswith("Bearer "):
            return False
        try:
            head, claims, sig = authorization[7:].split(".")
            signing = f"{head}.{claims}".encode()
            if not hmac.compare_digest(sig, _b64(hmac.new(KEY, signing, hashlib.sha256).digest())):
                return False
            doc = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))
        except ValueError:
            return False
        if doc.get("exp", 0) < time.time():
            return False
        return not repo or repo in self._grants.get(sig, set())

    # -- the token service --------------------------------------------------------------------------
    def _token(
        self, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        query = parse_qs(urlsplit(target).query)
        if method == "POST":
            query = parse_qs(body.decode())
        scopes = query.get("scope", [])
        self.counts["token requests"] += 1
        self.counts["token scopes asked"] += len(scopes)
        granted = scopes if self.multi_scope else scopes[:1]
        access = []
        for s in granted:
            for one in s.split():
                typ, _, rest = one.partition(":")
                name, _, actions = rest.rpartition(":")
                access.append({"type": typ, "name": name, "actions": actions.split(",")})
        now = int(time.time())
        claims: dict[str, object] = {
            "iss": "bench",
            "aud": SERVICE,
            "iat": now,
            "exp": now + 300,
            "jti": secrets.token_hex(8),
        }
        if not self.hide_access:
            claims["access"] = access
        signing = f"{JWT_HEAD}.{_b64(json.dumps(claims).encode())}"
        sig = _b64(hmac.new(KEY, signing.encode(), hashlib.sha256).digest())
        self._grants[sig] = {a["name"] for a in access}
        token = f"{signing}.{sig}"
        doc = {
            "token": token,
            "access_token": token,
            "expires_in": 300,
            "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        return 200, {"Content-Type": "application/json"}, json.dumps(doc).encode()
