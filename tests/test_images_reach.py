"""Registries that cannot be reached cost one attempt, not one per image (the issue's acceptance figure:
100 images on an unreachable registry finish in under 5 s), and `--timeout` bounds an image's lookups."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from kdoctor.images.registry.reach import DNS, REFUSED, permanent_failure
from tests.support.cli import IMAGES_ARM64_QEMU, run_kdoctor
from tests.test_images_inputs import _closed_port, cli_env


def timed(home: Path, *args: str) -> tuple[float, dict]:
    import json

    env = cli_env(home)
    for k in ("HTTPS_PROXY", "HTTP_PROXY"):
        env.pop(k)
    res = run_kdoctor(*IMAGES_ARM64_QEMU, "-o", "json", *args, env=env, inherit_env=False)
    assert "Traceback" not in res.stderr
    assert res.returncode == 3, res.stderr
    return res.seconds, json.loads(res.stdout)


@pytest.mark.parametrize(
    ("host", "why"),
    [(f"127.0.0.1:{_closed_port()}", REFUSED), ("registry.kdoctor.invalid", DNS)],
    ids=["refused-loopback", "dns-invalid"],
)
def test_hundred_images_on_an_unreachable_host_finish_fast(tmp_path: Path, host: str, why: str) -> None:
    refs = [f"{host}/kdoctor/app{i}:1.{i}" for i in range(100)]
    took, doc = timed(tmp_path, "--timeout", "10", *refs)
    assert len(doc["images"]) == 100 and doc["summary"]["unknown"] == 100
    assert doc["unreachable"] == {host: why}
    assert list(doc["unknown_by_host"]) == [host] and len(doc["unknown_by_host"][host]["images"]) == 100
    reason = f"cannot reach {host} ({why}; not retried for the rest of this run)"
    assert doc["unknown_by_host"][host]["reasons"] == [reason]
    assert doc["requests"]["GET manifest"] <= 16  # the first wave of workers at most; no retries
    print(f"100 images on {why}: {took:.2f}s")
    assert took < 5.0


@pytest.fixture
def silent_registry() -> Iterator[str]:
    """A loopback server that accepts connections and never answers."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(srv.accept()[0])
            except OSError:
                continue

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    yield f"127.0.0.1:{srv.getsockname()[1]}"
    stop.set()
    t.join()
    for c in held:
        c.close()
    srv.close()


def test_timeout_bounds_each_images_lookups(tmp_path: Path, silent_registry: str) -> None:
    refs = [f"{silent_registry}/kdoctor/slow{i}:1" for i in range(8)]
    took, doc = timed(tmp_path, "--timeout", "1", *refs)
    assert doc["summary"]["unknown"] == 8 and doc["unreachable"] == {}  # a timeout is not "unreachable"
    assert all("timed out" in i["reason"] or "within the 1s --timeout" in i["reason"] for i in doc["images"])
    assert took < 8.0  # 8 images in parallel, each bounded by about --timeout, not four tries with backoff


def test_permanent_failures_are_found_along_the_cause_chain() -> None:
    try:
        try:
            raise socket.gaierror(-2, "Name or service not known")
        except OSError as inner:
            raise RuntimeError("connect failed") from inner
    except RuntimeError as outer:
        assert permanent_failure(outer) == DNS
    assert permanent_failure(ConnectionRefusedError(111, "Connection refused")) == REFUSED
    assert permanent_failure(TimeoutError("timed out")) is None
    assert permanent_failure(ConnectionResetError(104, "Connection reset by peer")) is None


def test_running_out_of_files_is_told_apart_from_an_unreachable_host() -> None:
    import errno

    import httpx

    from kdoctor.images.registry.reach import out_of_files, permanent_failure

    def wrapped(cause: BaseException) -> httpx.ConnectError:
        try:
            raise httpx.ConnectError("connect failed") from cause
        except httpx.ConnectError as exc:
            return exc

    emfile = wrapped(OSError(errno.EMFILE, "Too many open files"))
    assert out_of_files(emfile) and permanent_failure(emfile) is None  # not the host's fault: not marked
    refused = wrapped(ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused"))
    assert not out_of_files(refused) and permanent_failure(refused) == "connection refused"
