"""Units: the token store kept between runs, the JWT access claim, and pull-quota accounting."""

from __future__ import annotations

import base64
import json
import stat
import time
from pathlib import Path

import httpx
import pytest

from kdoctor.errors import RegistryError
from kdoctor.images.registry.auth import Credentials, Secret
from kdoctor.images.registry.negotiate import granted_scopes
from kdoctor.images.registry.quota import Quota, parse_count
from kdoctor.images.registry.tokens import Realm, TokenStore, identity


def test_tokens_survive_the_run_readable_by_the_owner_only(tmp_path: Path) -> None:
    store = TokenStore(tmp_path, persist=True)
    store.put("docker.io", "repository:library/nginx:pull", "anonymous", Secret("tok-1"), 300)
    store.put("docker.io", "repository:library/old:pull", "anonymous", Secret("tok-old"), -1000)  # at least 60 s
    store.put_realm("docker.io", Realm("bearer", "https://auth.docker.io/token", "registry.docker.io", True))
    store.flush()
    path = tmp_path / "tokens.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = TokenStore(tmp_path, persist=True)
    hit = again.get("docker.io", "repository:library/nginx:pull", "anonymous")
    assert hit is not None and hit.reveal() == "tok-1" and repr(hit) == "Secret(***)"
    assert again.get("docker.io", "repository:library/nginx:pull", "someone-else") is None
    assert again.realm("docker.io") == Realm("bearer", "https://auth.docker.io/token", "registry.docker.io", True)
    # Keys are digests: the file names no registry, scope or login.
    assert "nginx" not in path.read_text() and "anonymous" not in path.read_text()


def test_expired_tokens_are_not_used_or_kept(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    path.write_text(json.dumps({"tokens": {"k": {"token": "t", "expires": time.time() - 1}}, "realms": []}))
    assert TokenStore(tmp_path, persist=True)._tokens == {}
    path.write_text("{not json")
    assert TokenStore(tmp_path, persist=True).realm("x") is None  # a broken file costs a token request, no more


def test_no_cache_keeps_tokens_in_memory_only(tmp_path: Path) -> None:
    store = TokenStore(tmp_path, persist=False)
    store.put("r", "s", "anonymous", Secret("t"), 300)
    store.flush()
    assert store.get("r", "s", "anonymous") is not None and not (tmp_path / "tokens.json").exists()


def test_identity_tells_logins_apart_without_holding_the_secret() -> None:
    a = Credentials(username="u", password=Secret("one"), source="auths")
    b = Credentials(username="u", password=Secret("two"), source="auths")
    assert identity(None) == "anonymous" and identity(a) != identity(b) and "one" not in identity(a)


def _jwt(claims: dict) -> str:
    enc = lambda d: base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()  # noqa: E731
    return f"{enc({'alg': 'RS256'})}.{enc(claims)}.sig"


def test_granted_scopes_from_the_access_claim() -> None:
    # The access claim of Docker's token spec (distribution.github.io/distribution/spec/auth/jwt).
    token = _jwt(
        {
            "access": [
                {"type": "repository", "name": "library/nginx", "actions": ["pull"]},
                {"type": "repository", "name": "library/redis", "actions": ["push"]},
            ]
        }
    )
    assert granted_scopes(token) == {"repository:library/nginx:pull"}
    assert granted_scopes(_jwt({"sub": "x"})) is None and granted_scopes("opaque-token") is None


def test_parse_count() -> None:
    assert parse_count("76;w=21600") == (76, 21600) and parse_count("100") == (100, None)
    assert parse_count("") is None and parse_count("lots") is None


def test_quota_allowance_is_half_of_what_is_left() -> None:
    q = Quota()
    q.reserve("docker.io", counted=True)  # the first GET goes before anything is known
    q.observe("docker.io", {"ratelimit-limit": "100;w=21600", "ratelimit-remaining": "9;w=21600"})
    q.settle("docker.io", spent=True)
    for _ in range(4):
        q.reserve("docker.io", counted=True)
        q.settle("docker.io", spent=True)
    with pytest.raises(RegistryError) as err:
        q.reserve("docker.io", counted=True)
    assert "half of the pulls left" in err.value.reason and "9 of 100 pulls left in the next 6 h" in err.value.reason
    q.reserve("docker.io", counted=False)  # blobs are not pulls
    assert q.report()["docker.io"]["pulls_used"] == 5


def test_max_pulls_caps_and_a_429_stops_every_get() -> None:
    q = Quota(max_pulls=2)
    for _ in range(2):
        q.reserve("r", counted=True)
        q.settle("r", spent=True)
    with pytest.raises(RegistryError, match="--max-pulls 2"):
        q.reserve("r", counted=True)
    throttle = b'{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}'
    assert not q.spent_by("other", httpx.Response(429, content=throttle))  # no quota spoken of: retried
    assert not q.spent_by("other", httpx.Response(429, content=b"Too Many Requests (HAP429)"))
    # Docker Hub's pull-limit message (docker/docs#21908), with or without RateLimit headers: spent.
    hub = b"toomanyrequests: You have reached your pull rate limit. You may increase the limit by authenticating"
    assert q.spent_by("other", httpx.Response(429, content=hub))
    assert q.spent_by("r3", httpx.Response(429, headers={"ratelimit-remaining": "0;w=21600"}, content=throttle))
    q.refuse("other")
    with pytest.raises(RegistryError, match="429 rate limited by other earlier"):
        q.reserve("other", counted=False)
