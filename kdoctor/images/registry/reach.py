"""Failing fast on registries that cannot be reached, and the time one image may spend on its lookups.

A refused connection or a failed DNS lookup is not a transient fault: the host is marked unreachable for the
rest of the run and every later image on it is `unknown` at once, with that reason (no retries). A timeout
may be retried once. Each image's lookups (manifests, config, tokens) stop at its deadline (`--timeout`).
"""

from __future__ import annotations

import errno
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from kdoctor.errors import RegistryError

_deadline: ContextVar[float | None] = ContextVar("kdoctor_image_deadline", default=None)
REFUSED = "connection refused"
DNS = "DNS lookup failed"
_REFUSED_ERRNOS = {errno.ECONNREFUSED}
_DNS_TEXT = (
    "name or service not known",
    "nodename nor servname",
    "no address associated",
    "temporary failure in name resolution",
    "getaddrinfo failed",
    "name resolution",
)


@contextmanager
def image_deadline(seconds: float) -> Iterator[None]:
    """Lookups made inside (in this thread) stop `seconds` from now."""
    token = _deadline.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _deadline.reset(token)


def remaining() -> float | None:
    """Seconds left for the current image, or None outside a scan."""
    deadline = _deadline.get()
    return None if deadline is None else deadline - time.monotonic()


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """An exception and its causes (or contexts), each once: transport errors wrap the socket's own."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        yield cur
        cur = cur.__cause__ or cur.__context__


def permanent_failure(exc: BaseException) -> str | None:
    """REFUSED or DNS when a transport error is one of those (looked for along the cause chain), else None."""
    for cur in _chain(exc):
        if isinstance(cur, socket.gaierror):
            return DNS
        if isinstance(cur, ConnectionRefusedError) or getattr(cur, "errno", None) in _REFUSED_ERRNOS:
            return REFUSED
        text = str(cur).lower()
        if "connection refused" in text or "[errno 111]" in text or "[errno 61]" in text:
            return REFUSED
        if any(t in text for t in _DNS_TEXT):
            return DNS
    return None


def out_of_files(exc: BaseException) -> bool:
    """True when a transport error is this machine running out of open files (EMFILE/ENFILE), not the host."""
    return any(
        getattr(cur, "errno", None) in (errno.EMFILE, errno.ENFILE) or "too many open files" in str(cur).lower()
        for cur in _chain(exc)
    )


class Unreachable:
    """Hosts found unreachable in this run, and why (shared by every worker thread)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._hosts: dict[str, str] = {}

    def mark(self, host: str, why: str) -> None:
        with self._lock:
            self._hosts.setdefault(host, why)

    def check(self, host: str) -> None:
        with self._lock:
            why = self._hosts.get(host)
        if why is not None:
            raise self.error(host, why)

    def give_up(self, host: str, exc: BaseException) -> RegistryError | None:
        """For a refused connection or a failed DNS lookup: mark the host and return the error to raise (the
        same for a registry and for its token service); None for anything that may be transient."""
        why = permanent_failure(exc)
        if why is None:
            return None
        self.mark(host, why)
        return self.error(host, why)

    @staticmethod
    def error(host: str, why: str) -> RegistryError:
        """One text for the first failure and every image after it, so the report groups them."""
        return RegistryError(f"cannot reach {host} ({why}; not retried for the rest of this run)")

    def hosts(self) -> dict[str, str]:
        with self._lock:
            return dict(self._hosts)
