"""The one SSL context for every registry connection, loaded in the background from the start of a run.

Loading the CA bundle takes ~20-35 ms on the benchmark machine with the interpreter lock released, and every
client needs it before its first request. `kdoctor images` starts it before the CLI framework is imported
(kdoctor/entry.py), so it is ready by the time the first request goes out, even where the registry is plain
HTTP (a client for an http:// registry may follow a redirect to https storage and must verify it). This module
and its thread import only ssl and certifi, so the loading runs beside the main thread's imports.
"""

from __future__ import annotations

import os
import ssl
import threading
from concurrent.futures import Future

_lock = threading.Lock()
_context: Future[ssl.SSLContext] | None = None


def start_tls_context() -> Future[ssl.SSLContext]:
    """Begin loading the CA bundle in a background thread, once per process."""
    global _context
    with _lock:
        if _context is not None:
            return _context
        fut: Future[ssl.SSLContext] = Future()
        _context = fut

    def load() -> None:
        try:
            fut.set_result(_create())
        except BaseException as exc:  # raised again by tls_context(), on the thread that needs it
            fut.set_exception(exc)

    threading.Thread(target=load, name="tls-context", daemon=True).start()
    return fut


def _create() -> ssl.SSLContext:
    """The CA certificates httpx would trust by default (its create_ssl_context), without importing httpx:
    SSL_CERT_FILE or SSL_CERT_DIR where set (how corporate proxies' CAs are added), else certifi's bundle."""
    if os.environ.get("SSL_CERT_FILE"):
        return ssl.create_default_context(cafile=os.environ["SSL_CERT_FILE"])
    if os.environ.get("SSL_CERT_DIR"):
        return ssl.create_default_context(capath=os.environ["SSL_CERT_DIR"])
    import certifi

    return ssl.create_default_context(cafile=certifi.where())


def tls_context() -> ssl.SSLContext:
    """The one SSL context for every host and thread."""
    return start_tls_context().result()
