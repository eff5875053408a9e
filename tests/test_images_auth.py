"""Registry auth against real servers: htpasswd (Basic) and a bearer-token service, with credentials
from config.json `auths`, a per-host credential helper and an identity token. Secrets must never
appear in any output."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import require_real
from tests.support.cli import IMAGES_ARM64_QEMU, run_kdoctor
from tests.support.realparts import RegistryServer, start_registry
from tests.support.registry_fixtures import Images
from tests.support.token_server import TokenServer

pytestmark = pytest.mark.registry
USER, PASSWORD = "kdoctor", "s3cret-Pa55word-never-print"
IDENTITY = "identity-token-never-print-0123456789"


@pytest.fixture(scope="module")
def basic_registry(
    registry: RegistryServer, images: Images, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RegistryServer]:
    import shutil

    if not shutil.which("htpasswd"):
        require_real("htpasswd is not installed (Debian package apache2-utils)")
    work = tmp_path_factory.mktemp("basic-registry")
    hp = subprocess.run(["htpasswd", "-Bbn", USER, PASSWORD], capture_output=True, text=True, check=True)
    (work / "htpasswd").write_text(hp.stdout)
    server = start_registry(
        work,
        f"auth:\n  htpasswd:\n    realm: kdoctor-test\n    path: {work / 'htpasswd'}\n",
        data=registry.root / "data",
    )
    yield server
    server.stop()


@pytest.fixture(scope="module")
def token_registry(
    registry: RegistryServer, images: Images, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[RegistryServer, TokenServer]]:
    work = tmp_path_factory.mktemp("token-registry")
    tokens = TokenServer({USER: PASSWORD}, work, identity_tokens={IDENTITY: USER})
    tokens.start()
    server = start_registry(work, tokens.registry_auth_yaml(), data=registry.root / "data")
    yield server, tokens
    server.stop()
    tokens.stop()


def kdoctor(docker_config: Path, *args: str, path_prefix: Path | None = None) -> tuple[int, str, str]:
    env = {**os.environ, "DOCKER_CONFIG": str(docker_config), "KDOCTOR_CACHE_DIR": str(docker_config / "cache")}
    if path_prefix:
        env["PATH"] = f"{path_prefix}:{env['PATH']}"
    res = run_kdoctor(*IMAGES_ARM64_QEMU, *args, env=env, inherit_env=False)
    return res.returncode, res.stdout, res.stderr


def write_config(d: Path, doc: dict) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    (d / "config.json").write_text(json.dumps(doc))
    return d


def assert_no_secret(*outputs: str, extra: list[str] = ()) -> None:
    for out in outputs:
        for secret in (PASSWORD, IDENTITY, base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode(), *extra):
            assert secret not in out


def test_basic_auth_from_config_auths(basic_registry: RegistryServer, tmp_path: Path) -> None:
    ref = f"{basic_registry.host}/kdoctor/hello:amd64only"
    anon = write_config(tmp_path / "anon", {})
    code, out, err = kdoctor(anon, "-o", "json", ref)
    doc = json.loads(out)
    assert code == 3 and doc["images"][0]["verdict"] == "unknown" and "401" in doc["images"][0]["reason"]
    cfg = write_config(
        tmp_path / "cfg",
        {"auths": {basic_registry.host: {"auth": base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()}}},
    )
    code, out, err = kdoctor(cfg, "-o", "json", ref)
    assert code == 1 and json.loads(out)["images"][0]["verdict"] == "crash"
    _, text, err2 = kdoctor(cfg, "-v", ref)
    assert_no_secret(out, err, text, err2)


def test_bearer_token_with_a_credential_helper(
    token_registry: tuple[RegistryServer, TokenServer], tmp_path: Path
) -> None:
    server, tokens = token_registry
    helper_dir = tmp_path / "bin"
    helper_dir.mkdir()
    helper = helper_dir / "docker-credential-kdtest"
    helper.write_text(
        f"#!{sys.executable}\nimport json, sys\nserver = sys.stdin.read().strip()\n"
        f"print(json.dumps({{'ServerURL': server, 'Username': {USER!r}, 'Secret': {PASSWORD!r}}}))\n"
    )
    helper.chmod(0o755)
    cfg = write_config(tmp_path / "cfg", {"credsStore": "nope-not-installed", "credHelpers": {server.host: "kdtest"}})
    before = len(tokens.issued)
    code, out, err = kdoctor(
        cfg,
        "-o",
        "json",
        f"{server.host}/kdoctor/hello:multi",
        f"{server.host}/kdoctor/hello:amd64only",
        path_prefix=helper_dir,
    )
    doc = json.loads(out)
    assert code == 1, err
    assert sorted(i["verdict"] for i in doc["images"]) == ["crash", "native"]
    issued = tokens.issued[before:]
    assert issued, "the token service was used"
    basic = [r for r in tokens.requests if r.get("authorization", "").startswith("Basic ")]
    assert basic and all(r["service"] == "kdoctor-registry" for r in basic)
    # Tokens are cached per scope: one token per repository, not one per request.
    assert len(issued) == 1
    _, text, err2 = kdoctor(cfg, "-v", f"{server.host}/kdoctor/hello:amd64only", path_prefix=helper_dir)
    assert_no_secret(out, err, text, err2, extra=tokens.issued)


def test_identity_token_uses_the_refresh_grant(
    token_registry: tuple[RegistryServer, TokenServer], tmp_path: Path
) -> None:
    server, tokens = token_registry
    cfg = write_config(tmp_path / "cfg", {"auths": {server.host: {"identitytoken": IDENTITY}}})
    code, out, err = kdoctor(cfg, "-o", "json", f"{server.host}/kdoctor/hello:multi")
    assert code == 0, err
    assert any(r.get("method") == "POST" and r.get("grant_type") == "refresh_token" for r in tokens.requests)
    assert_no_secret(out, err, extra=tokens.issued)


def test_wrong_password_is_unknown_not_a_crash(
    token_registry: tuple[RegistryServer, TokenServer], tmp_path: Path
) -> None:
    server, _ = token_registry
    wrong = base64.b64encode(f"{USER}:wrong-{PASSWORD}".encode()).decode()
    cfg = write_config(tmp_path / "cfg", {"auths": {server.host: {"auth": wrong}}})
    code, out, err = kdoctor(cfg, "-o", "json", f"{server.host}/kdoctor/hello:multi")
    img = json.loads(out)["images"][0]
    assert code == 3 and img["verdict"] == "unknown" and "refused" in img["reason"]
    assert_no_secret(out, err, extra=[wrong])


def test_malformed_docker_config_does_not_leak_or_crash(basic_registry: RegistryServer, tmp_path: Path) -> None:
    d = tmp_path / "cfg"
    d.mkdir()
    (d / "config.json").write_text('{"auths": {"x": {"auth": "' + base64.b64encode(PASSWORD.encode()).decode() + '"}')
    code, out, err = kdoctor(d, "-o", "json", f"{basic_registry.host}/kdoctor/hello:multi")
    assert code == 3 and json.loads(out)["images"][0]["verdict"] == "unknown"
    assert "Traceback" not in err
    assert_no_secret(out, err)


def test_one_token_request_for_several_repositories(
    token_registry: tuple[RegistryServer, TokenServer], tmp_path: Path
) -> None:
    """The real registry checks each token's access claim, so a token it accepts for both repositories
    really grants both."""
    server, tokens = token_registry
    auth = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    refs = [f"{server.host}/kdoctor/hello:multi", f"{server.host}/kdoctor/app:1.2.0"]
    both = ["repository:kdoctor/hello:pull", "repository:kdoctor/app:pull"]
    before = len(tokens.scope_lists)
    code, out, err = kdoctor(
        write_config(tmp_path / "a", {"auths": {server.host: {"auth": auth}}}), "-o", "json", *refs
    )
    assert code == 0 and [i["verdict"] for i in json.loads(out)["images"]] == ["native", "native"], err
    assert tokens.scope_lists[before:] == [both]
    # A service that grants only the first scope: its token's access claim says so, and the second
    # repository gets a token of its own.
    tokens.multi_scope = False
    try:
        before = len(tokens.scope_lists)
        cfg = write_config(tmp_path / "b", {"auths": {server.host: {"auth": auth}}})
        code, out, err = kdoctor(cfg, "-o", "json", *refs)
    finally:
        tokens.multi_scope = True
    assert code == 0 and [i["verdict"] for i in json.loads(out)["images"]] == ["native", "native"], err
    assert tokens.scope_lists[before:] == [both, both[1:]]
    assert_no_secret(out, err, extra=tokens.issued)
