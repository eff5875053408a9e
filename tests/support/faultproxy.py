"""A fault-injecting HTTP proxy between kdoctor and the real registry server (tests only, loopback only).

Each request path is matched against rules; a rule decides what goes wrong for that path: latency,
a connection reset mid-body, a truncated body, a status code (with or without Retry-After), a 401
loop, a wrong Content-Type, altered bytes (digest mismatch), a redirect to another host, an oversized
body, a slow-loris trickle. Everything else is forwarded untouched. It records every request it sees
(method, path, Authorization header) so tests can check what kdoctor sent where.
"""

from __future__ import annotations

import http.client
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Rule:
    pattern: str  # regex on the request path
    fault: str  # latency|reset|truncate|status|401-loop|content-type|corrupt|redirect|oversize|slowloris|serve
    status: int = 500
    retry_after: str | None = None
    delay: float = 0.0
    times: int | None = None  # apply this many times, then pass through (None: always)
    target: str = ""  # redirect target host:port
    body: bytes = b""  # for "serve": what to answer instead of the registry
    media_type: str = ""
    hits: int = 0


@dataclass
class FaultProxy:
    upstream: str  # "127.0.0.1:PORT"
    rules: list[Rule] = field(default_factory=list)
    seen: list[dict[str, str]] = field(default_factory=list)

    def start(self) -> None:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                proxy.handle(self, "GET")

            def do_HEAD(self) -> None:
                proxy.handle(self, "HEAD")

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: object, client_address: object) -> None:
                pass  # a client that gave up on a slow-loris body is the point of the test

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.host = f"127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def rule_for(self, path: str) -> Rule | None:
        for r in self.rules:
            if re.search(r.pattern, path) and (r.times is None or r.hits < r.times):
                r.hits += 1
                return r
        return None

    def forward(self, method: str, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection(self.upstream, timeout=30)
        fwd = {k: v for k, v in headers.items() if k.lower() not in ("host", "connection")}
        conn.request(method, path, headers=fwd)
        resp = conn.getresponse()
        body = resp.read()
        hdrs = {k: v for k, v in resp.getheaders() if k.lower() not in ("connection", "transfer-encoding")}
        conn.close()
        return resp.status, hdrs, body

    def handle(self, h: BaseHTTPRequestHandler, method: str) -> None:
        headers = {k: v for k, v in h.headers.items()}
        self.seen.append(
            {
                "method": method,
                "path": h.path,
                "authorization": headers.get("Authorization", ""),
                "host": headers.get("Host", ""),
            }
        )
        rule = self.rule_for(h.path)
        send: Callable[[int, dict[str, str], bytes], None] = lambda s, hd, b: _send(h, method, s, hd, b)  # noqa: E731
        if rule is None:
            send(*self.forward(method, h.path, headers))
            return
        f = rule.fault
        if f == "latency":
            time.sleep(rule.delay)
            send(*self.forward(method, h.path, headers))
        elif f == "status":
            extra = {"Retry-After": rule.retry_after} if rule.retry_after else {}
            send(
                rule.status,
                {"Content-Type": "application/json", **extra},
                b'{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}' if rule.status == 429 else b"{}",
            )
        elif f == "401-loop":
            send(
                401,
                {"Content-Type": "application/json", "Www-Authenticate": 'Basic realm="loop"'},
                b'{"errors":[{"code":"UNAUTHORIZED"}]}',
            )
        elif f == "serve":
            send(200, {"Content-Type": rule.media_type}, rule.body)
        elif f == "redirect":
            send(307, {"Location": f"http://{rule.target}{h.path}", "Content-Length": "0"}, b"")
        else:
            status, hdrs, body = self.forward(method, h.path, headers)
            if f == "ratelimit":  # Docker Hub's headers (docker/docs pulls.md)
                hdrs.update(
                    {
                        "ratelimit-limit": "100;w=21600",
                        "ratelimit-remaining": "76;w=21600",
                        "docker-ratelimit-source": "192.0.2.7",
                    }
                )
                send(status, hdrs, body)
            elif f == "content-type":
                hdrs["Content-Type"] = "text/html; charset=utf-8"
                send(status, hdrs, body)
            elif f == "corrupt":
                body = body.replace(b"amd64", b"arm64", 1) if b"amd64" in body else body[:-1] + b" "
                send(status, hdrs, body)
            elif f == "oversize":
                pad = b" " * (5 << 20)
                body = body[:-1] + pad + body[-1:] if body.endswith(b"}") else body + pad
                hdrs.pop("Docker-Content-Digest", None)
                send(status, hdrs, body)
            elif f == "truncate":
                hdrs["Content-Length"] = str(len(body))
                _raw(h, status, hdrs, body[: len(body) // 2], close=True)
            elif f == "reset":
                hdrs["Content-Length"] = str(len(body))
                _raw(h, status, hdrs, body[: max(1, len(body) // 3)], reset=True)
            elif f == "slowloris":
                hdrs["Content-Length"] = str(len(body))
                _raw(h, status, hdrs, b"", close=False)
                for i in range(len(body)):
                    try:
                        h.wfile.write(body[i : i + 1])
                        h.wfile.flush()
                    except OSError:
                        return
                    time.sleep(rule.delay or 1.0)
            else:
                raise ValueError(f)


def _send(h: BaseHTTPRequestHandler, method: str, status: int, headers: dict[str, str], body: bytes) -> None:
    h.send_response(status)
    headers = {**headers, "Content-Length": str(len(body))}
    for k, v in headers.items():
        h.send_header(k, v)
    h.end_headers()
    if method != "HEAD":
        h.wfile.write(body)


def _raw(
    h: BaseHTTPRequestHandler,
    status: int,
    headers: dict[str, str],
    body: bytes,
    *,
    close: bool = False,
    reset: bool = False,
) -> None:
    h.send_response(status)
    for k, v in headers.items():
        h.send_header(k, v)
    h.end_headers()
    h.wfile.write(body)
    h.wfile.flush()
    if reset:
        # SO_LINGER 0: the close sends a TCP RST instead of a FIN.
        import struct

        h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        h.connection.close()
        h.close_connection = True
    elif close:
        h.connection.shutdown(socket.SHUT_WR)
        h.close_connection = True
