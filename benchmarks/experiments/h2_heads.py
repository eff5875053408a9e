"""Experiment for issue 15, item 5 (not run by the tests or by run.py): does HTTP/2 pay for a warm scan's
HEADs? The real registry server with TLS (it offers h2 only over TLS, by ALPN: distribution/distribution#4241),
optionally behind a TCP-level delay proxy (every chunk delayed RTT/2 each way, one more RTT before a new
connection reaches the registry), 500 repositories, one HEAD each with httpx: HTTP/1.1 with a client per
thread (what kdoctor does) against HTTP/2 with one shared client and 48, 128 or 256 threads.

Needs the `h2` package, which kdoctor does not depend on:
    .venv/bin/pip install --target /tmp/h2lib h2
    PYTHONPATH=/tmp/h2lib .venv/bin/python -m benchmarks.experiments.h2_heads [--direct] [--rtt 0.05]
and a certificate for 127.0.0.1 (made here with `openssl req -x509`).

Result on the benchmark machine, 2026-12-05 (httpx 0.29, h2 4.4.1, registry built with Go 1.19.8), rounds of
the four clients: direct, HTTP/2 took about what HTTP/1.1 took (0.41-0.54 s against 0.46-0.55 s for 500 HEADs),
but in some rounds 26 or 205 of the 500 HEADs failed with RemoteProtocolError ("Server disconnected"; the
registry logged GOAWAY frames received from the client), and one run died with an uncaught "RuntimeError:
dictionary changed size during iteration" in an HTTP/2 round (its traceback was not kept); at 50 ms
HTTP/1.1 took 0.83-0.91 s with no error, HTTP/2 0.79-1.78 s with 9 to 208 failures per round. HTTP/1.1
never failed. With httpx's synchronous HTTP/2 shared by threads it does not pay here, and it is not reliable:
kdoctor stays on HTTP/1.1.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from benchmarks.common import ACCEPT
from tests.support.imagebuilder import Pusher
from tests.support.realparts import start_registry

TLS_CONFIG = """version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: {root}
http:
  addr: 127.0.0.1:{port}
  secret: x
  tls:
    certificate: {cert}
    key: {key}
health:
  storagedriver:
    enabled: false
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def delay_proxy(upstream_port: int, rtt: float) -> int:
    """A TCP proxy on a thread of its own that delays every chunk by rtt/2 in each direction."""
    loop = asyncio.new_event_loop()

    async def pump(r: asyncio.StreamReader, w: asyncio.StreamWriter, d: float) -> None:
        q: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def read() -> None:
            while True:
                data = await r.read(65536)
                await q.put((loop.time() + d, data))
                if not data:
                    return

        async def write() -> None:
            while True:
                due, data = await q.get()
                if due > loop.time():
                    await asyncio.sleep(due - loop.time())
                if not data:
                    w.close()
                    return
                w.write(data)
                await w.drain()

        await asyncio.gather(read(), write(), return_exceptions=True)

    async def handle(cr: asyncio.StreamReader, cw: asyncio.StreamWriter) -> None:
        await asyncio.sleep(rtt)  # the handshake
        ur, uw = await asyncio.open_connection("127.0.0.1", upstream_port)
        await asyncio.gather(pump(cr, uw, rtt / 2), pump(ur, cw, rtt / 2), return_exceptions=True)

    srv = loop.run_until_complete(asyncio.start_server(handle, "127.0.0.1", 0))
    threading.Thread(target=loop.run_forever, daemon=True).start()
    return int(srv.sockets[0].getsockname()[1])


def heads(base: str, repos: list[str], client_for: Callable[[], httpx.Client], threads: int) -> str:
    errors: list[str] = []
    versions: set[str] = set()

    def one(repo: str) -> None:
        try:
            resp = client_for().head(f"{base}/v2/{repo}/manifests/1.0", headers={"Accept": ACCEPT})
            versions.add(resp.http_version)
        except (httpx.HTTPError, RuntimeError) as exc:  # RuntimeError: seen once in an HTTP/2 round
            errors.append(type(exc).__name__)

    t0 = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, repos))
    return f"{time.perf_counter() - t0:.2f} s, {sorted(versions)}, {len(errors)} errors {sorted(set(errors))}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rtt", type=float, default=0.05)
    ap.add_argument("--direct", action="store_true", help="no delay proxy")
    opts = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="h2-heads-"))
    plain = start_registry(work / "plain")
    tls = None
    try:
        p = Pusher(plain.host)
        amd, arm = p.layer({"/bin/app": b"amd64"}), p.layer({"/bin/app": b"arm64"})
        repos = []
        for i in range(500):
            repo = f"h2/r{i:03d}"
            a = p.image(repo, None, arch="amd64", layers=[amd], entrypoint=["/bin/app"])
            b = p.image(repo, None, arch="arm64", layers=[arm], entrypoint=["/bin/app"])
            p.index(repo, "1.0", [a, b])
            repos.append(repo)
        cert, key = work / "cert.pem", work / "key.pem"
        subprocess.run(
            [
                *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert)),
                *("-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"),
            ],
            check=True,
            capture_output=True,
        )
        port = free_port()
        cfg = work / "tls.yml"
        cfg.write_text(TLS_CONFIG.format(root=plain.root / "data", port=port, cert=cert, key=key))
        quiet = subprocess.DEVNULL
        tls = subprocess.Popen(["docker-registry", "serve", str(cfg)], stdout=quiet, stderr=quiet)
        time.sleep(1.0)
        target = port if opts.direct else delay_proxy(port, opts.rtt)
        base = f"https://127.0.0.1:{target}"
        ctx = httpx.create_ssl_context(verify=str(cert))
        print(f"500 HEADs, {'direct' if opts.direct else f'RTT {opts.rtt * 1000:.0f} ms'}")
        for _ in range(2):
            local = threading.local()
            made: list[httpx.Client] = []

            def per_thread(local: threading.local = local, made: list[httpx.Client] = made) -> httpx.Client:
                c: httpx.Client | None = getattr(local, "client", None)
                if c is None:
                    c = local.client = httpx.Client(verify=ctx)
                    made.append(c)
                return c

            print("HTTP/1.1, a client per thread, 48 threads:", heads(base, repos, per_thread, 48), flush=True)
            for c in made:
                c.close()
            for threads in (48, 128, 256):
                shared = httpx.Client(verify=ctx, http2=True)
                got = heads(base, repos, lambda shared=shared: shared, threads)
                print(f"HTTP/2, one client, {threads} threads:", got, flush=True)
                shared.close()
    finally:
        if tls is not None:
            tls.terminate()
        plain.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
