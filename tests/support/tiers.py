"""Test tiers. Tests that need a real part (the registry server, Go, dockerd, the real kubectl, QEMU, gcc) carry the
`real` marker, so that `pytest -m "not real and not slow"` is the quick tier (README, "Tests").

The marker is derived, not remembered: a test that requests one of REAL_FIXTURES is marked at collection, and
every helper that starts a real part calls `uses_real_part`, which fails a test that is not marked. The state lives
here, not in conftest.py, because pytest imports conftest.py as `conftest` while helpers import `tests.conftest`:
two module objects, and a list kept in one is empty in the other.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

REAL_FIXTURES = {"registry", "binaries", "images", "kube", "api_server", "tmux"}  # and any test marked real by hand
_running: list[pytest.Item] = []


def mark_real(items: list[pytest.Item]) -> None:
    for item in items:
        needs = REAL_FIXTURES & set(getattr(item, "fixturenames", ()))
        if needs or item.get_closest_marker("registry") or item.get_closest_marker("engine"):
            item.add_marker(pytest.mark.real)


@contextmanager
def running(item: pytest.Item) -> Iterator[None]:
    _running.append(item)  # the test whose setup, call or teardown is running
    try:
        yield
    finally:
        _running.pop()


def uses_real_part(what: str) -> None:
    """Called where a real part is started or run: the running test must be marked `real` (outside pytest, as in
    benchmarks/, nothing is checked)."""
    if _running and _running[-1].get_closest_marker("real") is None:
        pytest.fail(f"{_running[-1].nodeid} uses {what}, a real part, but is not marked `real`", pytrace=False)
