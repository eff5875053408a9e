"""Transport against the real registry behind a Docker Hub-like proxy (tests/support/hubproxy.py): connections kept,
the realm learned once, tokens for several scopes and kept between runs (mode 0600, per login), and a pull
quota that is never hammered."""

from __future__ import annotations

import base64
import json
import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cli import IMAGES_ARM64_QEMU, run_kdoctor
from tests.support.hubproxy import HubProxy
from tests.support.imagebuilder import Pusher
from tests.support.realparts import RegistryServer
from tests.test_images_inputs import _closed_port

pytestmark = pytest.mark.registry
N_REPOS = 100


@pytest.fixture(scope="module")
def repos(registry: RegistryServer) -> list[str]:
    """N_REPOS distinct repositories, each with tag 1.0 naming an index (amd64 + arm64); small layers."""
    p = Pusher(registry.host)
    amd_layer, arm_layer = p.layer({"/bin/app": b"amd64 stand-in"}), p.layer({"/bin/app": b"arm64 stand-in"})
    out = []
    for i in range(N_REPOS):
        repo = f"transport/r{i:03d}"
        amd = p.image(repo, None, arch="amd64", layers=[amd_layer], entrypoint=["/bin/app"])
        arm = p.image(repo, None, arch="arm64", layers=[arm_layer], entrypoint=["/bin/app"])
        p.index(repo, "1.0", [amd, arm])
        out.append(f"{repo}:1.0")
    return out


@pytest.fixture
def hub(registry: RegistryServer) -> Iterator[HubProxy]:
    proxy = HubProxy(registry.host)
    proxy.start()
    yield proxy
    proxy.stop()


def kdoctor(home: Path, refs: list[str], *args: str, docker_config: Path | None = None) -> tuple[int, str, str, float]:
    env = {
        **os.environ,
        "KDOCTOR_CACHE_DIR": str(home / "cache"),
        "DOCKER_CONFIG": str(docker_config or home / "no-docker"),
    }
    t0 = time.monotonic()
    res = run_kdoctor(*IMAGES_ARM64_QEMU, *args, *refs, env=env, inherit_env=False, timeout=120)
    return res.returncode, res.stdout, res.stderr, time.monotonic() - t0


def test_cold_then_warm_keeps_connections_and_tokens(hub: HubProxy, repos: list[str], tmp_path: Path) -> None:
    refs = [f"{hub.host}/{r}" for r in repos[:30]]
    code, out, err, _ = kdoctor(tmp_path, refs, "-o", "json", "--concurrency", "8")
    doc = json.loads(out)
    assert code == 0 and doc["summary"]["native"] == 30, err[-500:]
    c = hub.counts
    # One 401 for the registry (its realm), then tokens asked for 20 scopes at a time: 30 repositories, 2 tokens.
    assert c["401"] == 1 and c["token requests"] == 2 and c["token scopes asked"] == 30
    # Every answer read to its end: no more connections than the pool holds, none per request.
    assert c["new conn registry"] <= 8 and c["new conn token"] <= 3
    assert c["GET manifest"] == 30 and c["HEAD manifest"] == 0
    tokens = tmp_path / "cache" / "tokens.json"
    assert stat.S_IMODE(tokens.stat().st_mode) == 0o600
    hub.reset()
    code, out, err, _ = kdoctor(tmp_path, refs, "-o", "json", "--concurrency", "8")
    assert code == 0 and json.loads(out)["summary"]["native"] == 30
    c = hub.counts
    # Warm: HEADs only, with the tokens kept from the first run; no 401, no token request, no GET.
    assert c["HEAD manifest"] == 30 and c["GET manifest"] == 0 and c["401"] == 0 and c["token requests"] == 0
    assert c["new conn registry"] <= 8
    saved = json.loads(tokens.read_text())
    for value in (v["token"] for v in saved["tokens"].values()):
        assert value not in out and value not in err


def test_a_token_service_that_grants_one_scope_per_request(hub: HubProxy, repos: list[str], tmp_path: Path) -> None:
    hub.reset(multi_scope=False)
    refs = [f"{hub.host}/{r}" for r in repos[:25]]
    code, out, err, _ = kdoctor(tmp_path, refs, "-o", "json")
    assert code == 0 and json.loads(out)["summary"]["native"] == 25, err[-500:]
    # The first token's access claim shows one scope granted: the rest are asked for one by one.
    assert hub.counts["401"] == 1 and hub.counts["token requests"] == 1 + 24


def test_opaque_tokens_learn_from_a_401_on_use(hub: HubProxy, repos: list[str], tmp_path: Path) -> None:
    hub.reset(multi_scope=False, hide_access=True)
    refs = [f"{hub.host}/{r}" for r in repos[:5]]
    code, out, err, _ = kdoctor(tmp_path, refs, "-o", "json", "--concurrency", "1")
    assert code == 0 and json.loads(out)["summary"]["native"] == 5, err[-500:]
    # The several-scope token cannot be read: used, refused once (401), then one scope per token.
    assert hub.counts["401"] == 2 and hub.counts["token requests"] == 1 + 4


def test_a_different_login_does_not_reuse_tokens(hub: HubProxy, repos: list[str], tmp_path: Path) -> None:
    refs = [f"{hub.host}/{r}" for r in repos[:3]]
    assert kdoctor(tmp_path, refs)[0] == 0
    assert hub.counts["token requests"] == 1
    cfg = tmp_path / "login"
    cfg.mkdir()
    (cfg / "config.json").write_text(
        json.dumps({"auths": {hub.host: {"auth": base64.b64encode(b"someone:pa55-never-print").decode()}}})
    )
    hub.reset()
    code, out, err, _ = kdoctor(tmp_path, refs, docker_config=cfg)
    assert code == 0 and hub.counts["token requests"] == 1
    assert "pa55-never-print" not in out + err + (tmp_path / "cache" / "tokens.json").read_text()


def test_default_keeps_half_of_the_pulls_left(hub: HubProxy, repos: list[str], tmp_path: Path) -> None:
    hub.reset(pulls_limit=100, pulls_used=90)
    refs = [f"{hub.host}/{r}" for r in repos]
    code, out, _, took = kdoctor(tmp_path, refs, "-o", "json")
    doc = json.loads(out)
    # 10 left: the first GET says 9 are left after it, and kdoctor spends 4 more; 5 stay for the user.
    assert hub.counts["GET manifest"] == 5 and hub.counts["429"] == 0
    assert doc["summary"]["native"] == 5 and doc["summary"]["unknown"] == 95 and code == 3
    unknown = [i["reason"] for i in doc["images"] if i["verdict"] == "unknown"]
    assert all("half of the pulls left" in r and "`docker login`, or `--max-age`" in r for r in unknown)
    assert doc["pull_quota"][hub.host]["pulls_left"] == 5 and doc["pull_quota"][hub.host]["pulls_used"] == 5
    assert took < 20
    hub.reset(pulls_limit=100, pulls_used=95)
    _, text, _, _ = kdoctor(tmp_path / "text", refs[:3])
    assert "of 100 pulls left in the next 6 h; `docker login`, or `--max-age` to answer from the cache" in text
    assert ";w=21600" not in text


@pytest.mark.parametrize(
    ("case", "settings", "flags"),
    [
        # No RateLimit headers: the quota shows only as a 429 toomanyrequests.
        ("no-headers", {"rate_headers": False}, []),
        # Other clients pull at the same time: what the first answer said was left runs out early.
        ("others-pull", {"others_per_get": 1, "retry_after": "2"}, ["--max-pulls", "100"]),
    ],
)
def test_no_get_after_a_429(
    hub: HubProxy, repos: list[str], tmp_path: Path, case: str, settings: dict, flags: list[str]
) -> None:
    hub.reset(pulls_limit=100, pulls_used=90, **settings)
    refs = [f"{hub.host}/{r}" for r in repos]
    code, out, _, took = kdoctor(tmp_path, refs, "-o", "json", "--concurrency", "1", *flags)
    doc = json.loads(out)
    assert hub.counts["429"] == 1 and hub.counts["GET after 429"] == 0, hub.counts
    assert code == 3 and doc["summary"]["unknown"] == 100 - doc["summary"]["native"]
    reasons = [i["reason"] for i in doc["images"] if i["verdict"] == "unknown"]
    assert all("429 rate limited" in r and "`--max-age` to answer from the cache" in r for r in reasons)
    assert took < 15, took
    # Concurrently, 50 ms away: GETs already on their way may meet the 429 too, but none is sent after it.
    hub.reset(rtt=0.05, pulls_limit=100, pulls_used=90, **settings)
    _, _, _, took = kdoctor(tmp_path / "c32", refs, "-o", "json", *flags)
    assert hub.counts["GET after 429"] == 0 and took < 15, (hub.counts, took)


def test_a_refused_token_service_is_given_up_on_for_the_run(hub: HubProxy, repos: list[str], tmp_path: Path) -> None:
    """The registry's 401 names a token service that refuses connections: the first image to ask marks it
    unreachable and every image after is `unknown` with the same reason, without asking it again."""
    dead = f"127.0.0.1:{_closed_port()}"
    hub.reset(token_host=dead, multi_scope=False)
    refs = [f"{hub.host}/{r}" for r in repos[:30]]
    code, out, err, _ = kdoctor(tmp_path, refs, "-o", "json", "--concurrency", "8")
    doc = json.loads(out)
    assert code == 3 and doc["summary"]["unknown"] == 30, err[-500:]
    assert doc["unreachable"] == {dead: "connection refused"}
    reasons = {img["reason"] for img in doc["images"]}
    assert reasons == {f"cannot reach {dead} (connection refused; not retried for the rest of this run)"}
    assert hub.counts["GET manifest"] == 0  # nothing was pulled without a token


def test_a_low_open_file_limit_lowers_the_workers_and_says_so(hub: HubProxy, repos: list[str], tmp_path: Path) -> None:
    """Every worker thread keeps a connection to each registry it talks to: under a hard limit of 40 open files
    (below what 48 workers and 8 token threads need) the scan runs with fewer workers, every image is still
    judged, and the report says what the limit cost and how to lift it. Without the fit (measured), 14 of 60
    images came back unknown: their connections failed with EMFILE ("Too many open files")."""
    import resource

    def low_limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (40, 40))

    hub.reset(rtt=0.02)  # answers take a while, so the workers' connections are open at the same time
    refs = [f"{hub.host}/{r}" for r in repos[:60]]
    env = {**os.environ, "KDOCTOR_CACHE_DIR": str(tmp_path / "cache"), "DOCKER_CONFIG": str(tmp_path / "nd")}
    res = run_kdoctor(
        *IMAGES_ARM64_QEMU, "-o", "json", *refs, env=env, inherit_env=False, timeout=120, preexec_fn=low_limit
    )
    doc = json.loads(res.stdout)
    assert res.returncode == 0 and doc["summary"]["native"] == 60, res.stderr[-500:]
    # (40 - 32 kept for files) // 1 host - 8 token threads = 0: one worker, with its one connection
    want = "the open-file limit (40) allows 1 connection(s) "
    assert any(n.startswith(want) and "ulimit -n" in n for n in doc["notes"])
    assert hub.counts["new conn registry"] == 1
