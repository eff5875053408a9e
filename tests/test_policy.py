"""The policy file `.kdoctor.yaml` and registry mirrors (issue 27, item 4), through the real command against the real
test registry: found from the current directory up to the repository root; validated with file:line errors;
allow entries that suppress a finding (still reported) until they expire; several platforms; severities; paths
ignored; a registry answered by a mirror under a path prefix."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from kdoctor.errors import InputError
from kdoctor.images.registry import Mirrors, parse_reference
from kdoctor.policy import load
from tests.support.cli import run_kdoctor
from tests.support.imagebuilder import Pusher
from tests.support.registry_fixtures import Images
from tests.test_reports import manifest

HELLO = "/usr/local/bin/hello"


def kd(cwd: Path, *args: str) -> Any:
    return run_kdoctor("images", *args, cwd=cwd, env={"KDOCTOR_CACHE_DIR": str(cwd / ".cache")})


def repo(tmp_path: Path, policy: str, refs: list[str]) -> Path:
    (tmp_path / ".git").mkdir()
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy" / "app.yaml").write_text(manifest(refs))
    (tmp_path / ".kdoctor.yaml").write_text(policy)
    return tmp_path


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("platforms: [linux/arm64]\nfail_on: emulated\nallwo: []\n", ":3: allwo: unknown key"),
        ("allow:\n  - image: 'x/*'\n    expires: 2027-01-01\n", ":2: allow.0.reason: Field required"),
        ("allow:\n  - image: x\n    reason: r\n    until: 2027-01-01\n", ":4: allow.0.until: unknown key"),
        ("emulator: virtualbox\n", ":1: emulator: Input should be 'qemu', 'rosetta' or 'none'"),
        ("platforms: [arm64]\n", ":1: platforms.0: Value error, platform 'arm64' is not os/arch[/variant]"),
        ("severity: {emulated: fatal}\n", ":1: severity.emulated: Input should be 'error', 'warning' or 'note'"),
        ("[1, 2]\n", ":1: a policy file is a YAML mapping"),
    ],
)
def test_a_bad_policy_names_the_file_line_and_key(tmp_path: Path, text: str, where: str) -> None:
    f = tmp_path / ".kdoctor.yaml"
    f.write_text(text)
    with pytest.raises(InputError) as exc:
        load(f)
    assert str(exc.value).startswith(str(f) + where), str(exc.value)
    (tmp_path / ".git").mkdir()
    ran = kd(tmp_path, "nginx:1.27", "--platform", "linux/arm64")  # found from the current directory
    assert ran.returncode == 2 and where in ran.stderr and "Traceback" not in ran.stderr


def test_the_policy_is_found_up_to_the_repository_root_and_no_further(tmp_path: Path) -> None:
    (tmp_path / ".kdoctor.yaml").write_text("bogus: 1\n")  # above the repository: never read
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    (root / "a" / "b").mkdir(parents=True)
    assert kd(root / "a" / "b", "--platform", "linux/arm64", "nginx:1.27", "--timeout", "1").returncode != 2
    (root / ".kdoctor.yaml").write_text("bogus: 1\n")
    assert kd(root / "a" / "b", "--platform", "linux/arm64", "nginx:1.27").returncode == 2
    good = root / "other.yaml"
    good.write_text("fail_on: never\n")
    assert kd(root / "a" / "b", "--config", str(good), "nginx:1.27", "--platform", "linux/arm64").returncode == 0


def test_an_allow_entry_suppresses_until_it_expires(images: Images, tmp_path: Path) -> None:
    crash = images.ref("amd64only")
    future = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    past = (dt.date.today() - dt.timedelta(days=1)).isoformat()
    policy = ("platforms: [linux/arm64]\nemulator: qemu\nfail_on: emulated\nallow:\n"
              "  - image: '*/kdoctor/hello:amd64only'\n    path: 'deploy/*'\n    reason: replaced in Q2\n"
              "    expires: {date}\n")  # fmt: skip
    root = repo(tmp_path, policy.format(date=future), [crash, images.ref("multi")])
    ran = kd(root, "-f", "deploy")
    assert ran.returncode == 0, ran.stdout  # accepted: the gate passes
    sarif = json.loads(kd(root, "-f", "deploy", "-o", "sarif").stdout)
    (result,) = sarif["runs"][0]["results"]
    assert result["suppressions"] == [{"kind": "external", "justification": f"allowed until {future}: replaced in Q2"}]
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "deploy/app.yaml"
    doc = json.loads(kd(root, "-f", "deploy", "-o", "json").stdout)
    assert [(a["image"], a["reason"], a["expired"]) for a in doc["allowed"]] == [(crash, "replaced in Q2", False)]
    assert "::notice file=deploy/app.yaml" in kd(root, "-f", "deploy", "-o", "github").stdout

    (root / ".kdoctor.yaml").write_text(policy.format(date=past))
    ran = kd(root, "-f", "deploy", "-o", "github")
    assert ran.returncode == 1 and "EXPIRED" in ran.stdout  # the date is past: it fails again, and says why
    (result,) = json.loads(kd(root, "-f", "deploy", "-o", "sarif").stdout)["runs"][0]["results"]
    assert "suppressions" not in result and result["level"] == "error" and "EXPIRED" in result["message"]["text"]
    # An entry for another path does not apply.
    (root / ".kdoctor.yaml").write_text(policy.format(date=future).replace("deploy/*", "other/*"))
    assert kd(root, "-f", "deploy").returncode == 1


def test_several_platforms_severities_and_ignored_paths(images: Images, tmp_path: Path) -> None:
    policy = ("platforms: [linux/arm64, linux/amd64]\nemulator: qemu\nfail_on: crash\n"
              "severity: {go-lfstack-push: warning}\nignore_paths: ['vendor/**']\n")  # fmt: skip
    root = repo(tmp_path, policy, [images.ref("amd64only")])
    (root / "vendor" / "x").mkdir(parents=True)
    (root / "vendor" / "x" / "bad.yaml").write_text(manifest([images.ref("c")]))
    doc = json.loads(kd(root, "-f", ".", "-o", "json").stdout)
    assert doc["schema"] == "kdoctor/images-platforms/v1" and doc["exit_code"] == 1
    by_platform = {r["platform"]: {i["ref"]: i["verdict"] for i in r["images"]} for r in doc["runs"]}
    amd = images.ref("amd64only")
    assert by_platform == {"linux/arm64": {amd: "crash"}, "linux/amd64": {amd: "native"}}  # vendor/ not read
    sarif = json.loads(kd(root, "-f", ".", "-o", "sarif").stdout)
    (result,) = sarif["runs"][0]["results"]  # the arm64 crash only; the severity override makes it a warning
    assert result["level"] == "warning" and result["properties"]["platform"] == "linux/arm64"


def test_a_mirror_answers_for_a_registry_under_a_path_prefix(images: Images, tmp_path: Path) -> None:
    p = Pusher(images.host)
    p.image("dockerhub-proxy/library/goapp", "1.0", arch="amd64", layers=[p.layer({HELLO: images.bins["go-amd64"]})],
            entrypoint=[HELLO])  # fmt: skip
    (tmp_path / ".git").mkdir()
    (tmp_path / "app.yaml").write_text(manifest(["goapp:1.0"]))  # written as on Docker Hub
    flag = f"docker.io=http://{images.host}/v2/dockerhub-proxy"
    doc = json.loads(kd(tmp_path, "-f", "app.yaml", "--platform", "linux/arm64", "--emulator", "qemu",
                        "--registry-mirror", flag, "-o", "json").stdout)  # fmt: skip
    (img,) = doc["images"]
    assert img["ref"] == "goapp:1.0" and img["resolved"] == "docker.io/library/goapp:1.0"  # the name as written
    assert img["answered_by"] == images.host and img["verdict"] == "crash"  # and who answered
    (tmp_path / ".kdoctor.yaml").write_text(f"mirrors: {{docker.io: 'http://{images.host}/dockerhub-proxy'}}\n")
    text = kd(tmp_path, "-f", "app.yaml", "--platform", "linux/arm64", "--emulator", "qemu").stdout
    assert "goapp:1.0" in text and f"answered by {images.host}" in text


def test_mirror_rules() -> None:
    m = Mirrors.of({"docker.io": "https://harbor.corp/v2/dockerhub-proxy", "ghcr.io": "mirror.internal:5000"})
    assert str(m.apply(parse_reference("nginx:1.27"))) == "harbor.corp/dockerhub-proxy/library/nginx:1.27"
    assert str(m.apply(parse_reference("index.docker.io/library/nginx"))).startswith("harbor.corp/dockerhub-proxy/")
    assert str(m.apply(parse_reference("ghcr.io/o/r:1"))) == "mirror.internal:5000/o/r:1"
    assert str(m.apply(parse_reference("quay.io/o/r:1"))) == "quay.io/o/r:1"
    assert m.plain_http_hosts() == set()
