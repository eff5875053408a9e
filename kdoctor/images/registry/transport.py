"""Connections for the registry client: one pool per host, answers drained so connections are kept, and
the first request to a registry sent alone.

Measured (benchmarks/latency.py, README "Performance"): with one pool shared by the registry and its token
service, each evicted the other's idle connections, and a 401 or HEAD answer closed without reading its
(empty or small) body dropped its connection: about one new connection per request. A pool per host and
reading every answer to its end keep them all alive.

Each thread has its own client per host. httpcore's pool matches every waiting request against every
connection under one lock, each time a request starts or ends: with 32 threads on one pool a warm scan
(500 HEADs) spent more CPU there (~670,000 `is_idle` calls) than sending the requests. A thread sends one
request at a time, so its own pool holds the one connection it keeps reusing; the number of connections
to a host stays at most the number of threads that talk to it. That makes open files the limit to mind
(fit_workers); the one SSL context comes from kdoctor.images.registry.tls.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from typing import Any, TypeVar, cast

import httpx

from kdoctor import __version__
from kdoctor.images.registry.tls import tls_context

DRAIN_MAX = 64 << 10  # an answer with more left than this is cheaper to drop with its connection

FILES_RESERVE = 32  # open files that are not connections: the cache, the inputs, pipes, the interpreter's own


def open_files_limit(want: int) -> int:
    """Raise this process's soft limit on open files towards `want` (a macOS shell starts programs with 256;
    Go programs raise it themselves), within the hard limit; the soft limit in force afterwards."""
    try:
        import resource
    except ImportError:  # not POSIX: no limit to read or raise here
        return want
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= want:
        return want
    target = want if hard == resource.RLIM_INFINITY else min(want, hard)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ValueError, OSError):  # macOS refuses more than kern.maxfilesperproc
        return soft
    return target


def fit_workers(workers: int, hosts: int, token_threads: int) -> tuple[int, str | None]:
    """Workers a scan can run without running out of open files: each worker thread keeps one connection to
    every registry host it talks to, and each token thread one to every token service. None, or a note that
    says what the limit cost and how to lift it."""
    hosts = max(1, hosts)
    want = (workers + token_threads) * hosts + FILES_RESERVE
    limit = open_files_limit(want)
    if limit >= want:
        return workers, None
    fit = max(1, (limit - FILES_RESERVE) // hosts - token_threads)
    if fit >= workers:
        return workers, None
    return fit, (
        f"the open-file limit ({limit}) allows {fit} connection(s) per registry host for {hosts} host(s), not "
        f"{workers}: `ulimit -n {want}` before kdoctor to use all {workers}"
    )


def request_timeout(limit: float, left: float | None = None) -> httpx.Timeout:
    """One request's timeout: `limit` (--timeout), cut to what is `left` of the image's deadline; connecting
    takes at most 5 s of it."""
    t = limit if left is None else max(0.1, min(limit, left))
    return httpx.Timeout(t, connect=min(t, 5.0))


def drain(resp: httpx.Response) -> None:
    """Read what is left of an answer (bounded) and close it, so its connection goes back to the pool."""
    try:
        if not resp.is_stream_consumed:
            left = 0
            for chunk in resp.iter_raw():
                left += len(chunk)
                if left > DRAIN_MAX:
                    break
    except (httpx.HTTPError, RuntimeError):
        pass  # the connection is dropped by close(): nothing else to do
    finally:
        resp.close()


class HostPools:
    """httpx clients per thread and scheme://host, each with room for `size` connections (httpx.Client's
    interface for the two calls the client makes, so the retry loop does not change)."""

    def __init__(self, *, timeout: float, size: int, offline: bool = False):
        self.offline = offline  # --offline: no connection is ever opened (issue 24)
        self._timeout = request_timeout(timeout)
        self._limits = httpx.Limits(max_connections=size, max_keepalive_connections=size)
        self._local = threading.local()  # .clients: {scheme://host: httpx.Client} of this thread
        self._all: list[httpx.Client] = []  # every thread's, to close them all
        self._lock = threading.Lock()

    def for_url(self, url: str | httpx.URL) -> httpx.Client:
        if self.offline:
            from kdoctor.errors import RegistryError
            from kdoctor.images.registry.verdicts import OFFLINE

            raise RegistryError(OFFLINE)
        u = url if isinstance(url, httpx.URL) else httpx.URL(url)
        key = f"{u.scheme}://{u.netloc.decode('ascii')}"  # httpx's normal form: the key send() sees too
        mine: dict[str, httpx.Client] | None = getattr(self._local, "clients", None)
        if mine is None:
            mine = self._local.clients = {}
        client = mine.get(key)
        if client is None:
            ctx = tls_context()
            with self._lock:
                client = mine[key] = httpx.Client(
                    verify=ctx,
                    timeout=self._timeout,
                    limits=self._limits,
                    follow_redirects=True,  # blobs live on CDNs; httpx drops Authorization across origins
                    headers={"User-Agent": f"kdoctor/{__version__}"},
                )
                self._all.append(client)
        return client

    def build_request(
        self, method: str, url: str, *, headers: dict[str, str], timeout: httpx.Timeout, content: bytes | None = None
    ) -> httpx.Request:
        u = httpx.URL(url)  # parsed once, for the client's key and the request
        return self.for_url(u).build_request(method, u, headers=headers, timeout=timeout, content=content)

    def send(self, request: httpx.Request, *, stream: bool) -> httpx.Response:
        return self.for_url(request.url).send(request, stream=stream)

    def close(self) -> None:
        with self._lock:
            clients, self._all = self._all, []
        for c in clients:
            c.close()


class FirstContact:
    """The first manifest request to each registry goes alone; the others wait for its answer (bounded).

    It learns the registry's auth (the 401 challenge, then the token) and its pull quota (RateLimit headers)
    once, instead of every worker sending an unauthenticated request, fetching its own token and spending
    pulls before anyone knows how many are left. It costs one round trip at the start of a scan."""

    def __init__(self, wait: float):
        self._wait = wait
        self._lock = threading.Lock()
        self._open: dict[str, threading.Event] = {}

    @contextmanager
    def contact(self, registry: str) -> Iterator[None]:
        with self._lock:
            ev = self._open.get(registry)
            scout = ev is None
            if ev is None:
                ev = self._open[registry] = threading.Event()
        if not scout:
            ev.wait(self._wait)
            yield
            return
        try:
            yield
        finally:
            ev.set()


T = TypeVar("T")


class SingleFlight:
    """Run a fetch once per key for an owner's life; concurrent callers wait for the first and share its result
    (or its exception)."""

    def __init__(self) -> None:
        self._futures: dict[str, Future[Any]] = {}
        self._lock = threading.Lock()

    def __call__(self, key: str, fn: Callable[[], T]) -> T:
        with self._lock:
            fut = self._futures.get(key)
            owner = fut is None
            if fut is None:
                fut = self._futures[key] = Future()
        if not owner:
            return cast(T, fut.result())
        try:
            value = fn()
        except BaseException as exc:
            fut.set_exception(exc)
            raise
        fut.set_result(value)
        return value
