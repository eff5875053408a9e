"""Reading `kdoctor images -f` inputs: Compose interpolation, .env and --env-file, extends and include,
pod templates in any kind, and hostile inputs (alias bombs, non-UTF-8 stdin, unbalanced quotes, a
directory with broken files) - each ends with a clear per-file result, the other files still read."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kdoctor.images.inputs.interpolate import Issues, interpolate, parse_env_file
from kdoctor.images.inputs.sources import read_inputs
from kdoctor.images.inputs.yamlload import decode
from tests.support import cli

CORPUS = Path(__file__).parent / "corpus" / "manifests"
ENV = {"SET": "value", "EMPTY": "", "FOO": "foo"}


@pytest.mark.parametrize(
    ("text", "expected", "unset", "required"),
    [
        ("${SET}", "value", [], []),
        ("$SET", "value", [], []),
        ("x-$SET-y", "x-value-y", [], []),
        ("${UNSET}", "", ["UNSET"], []),
        ("$UNSET/app", "/app", ["UNSET"], []),
        ("${UNSET:-d}", "d", [], []),
        ("${EMPTY:-d}", "d", [], []),
        ("${EMPTY-d}", "", [], []),
        ("${UNSET-d}", "d", [], []),
        ("${SET:-d}", "value", [], []),
        ("${SET:+r}", "r", [], []),
        ("${EMPTY:+r}", "", [], []),
        ("${EMPTY+r}", "r", [], []),
        ("${UNSET+r}", "", [], []),
        ("${UNSET:?need it}", "", [], [("UNSET", "need it")]),
        ("${EMPTY:?need it}", "", [], [("EMPTY", "need it")]),
        ("${EMPTY?need it}", "", [], []),
        ("${UNSET:-${FOO}}", "foo", [], []),
        ("${UNSET:-${ALSO:-deep}}/x", "deep/x", [], []),
        ("${UNSET?$FOO}", "", [], [("UNSET", "foo")]),
        ("${SET:+${FOO}/}app", "foo/app", [], []),
        ("$$SET and $${SET}", "$SET and ${SET}", [], []),
        ("$(POD_NAMESPACE) $1 cost$", "$(POD_NAMESPACE) $1 cost$", [], []),
    ],
)
def test_interpolation_forms(text: str, expected: str, unset: list[str], required: list[tuple[str, str]]) -> None:
    issues = Issues()
    assert interpolate(text, ENV.get, issues) == expected
    assert issues.unset == unset and issues.required == required and not issues.invalid


@pytest.mark.parametrize("bad", ["${}", "${SET", "${SET/a/b}", "${1X}"])
def test_invalid_interpolation_is_reported_not_raised(bad: str) -> None:
    issues = Issues()
    interpolate(bad, ENV.get, issues)
    assert issues.invalid


def test_env_file_syntax() -> None:
    text = (
        "# comment\n\nexport A=1\nB='lit $A # not a comment'\nC=\"x\\ty $A\"\nD=plain # comment\nE=${A}-${Z:-z}\n"
        "F=no#comment\nnot a line\n"
    )
    assert parse_env_file(text, {}) == {
        "A": "1",
        "B": "lit $A # not a comment",
        "C": "x\ty 1",
        "D": "plain",
        "E": "1-z",
        "F": "no#comment",
    }


def _compose(tmp: Path, body: str, name: str = "compose.yaml") -> Path:
    p = tmp / name
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(body)
    return p


def test_environment_wins_over_dotenv_and_env_file_replaces_it(tmp_path: Path) -> None:
    f = _compose(tmp_path, "services:\n  a:\n    image: app:${TAG}\n    command: run $$HOME\n")
    (tmp_path / ".env").write_text("TAG=from-dotenv\n")
    (tmp_path / "other.env").write_text("TAG=from-env-file\n")
    (tmp_path / "third.env").write_text("TAG=third\n")
    assert [u.ref for u in read_inputs([str(f)], environ={}).uses] == ["app:from-dotenv"]
    assert [u.ref for u in read_inputs([str(f)], environ={"TAG": "env"}).uses] == ["app:env"]
    picked = read_inputs([str(f)], environ={}, env_files=[str(tmp_path / "other.env"), str(tmp_path / "third.env")])
    assert [u.ref for u in picked.uses] == ["app:third"]
    assert picked.uses[0].args == ["run", "$HOME"]


def test_unset_image_variable_is_reported_for_that_use(tmp_path: Path) -> None:
    f = _compose(tmp_path, "services:\n  a:\n    image: ${REGISTRY}/app:1\n  b:\n    image: nginx\n")
    report = read_inputs([str(f)], environ={})
    a, b = report.uses
    assert a.unset == ["REGISTRY"] and a.ref == "/app:1" and not report.errors
    assert b.unset == [] and b.ref == "nginx"


def test_extends_and_include_relative_to_the_file_that_names_them(tmp_path: Path) -> None:
    _compose(tmp_path, "services:\n  base:\n    image: base:${V:-1}\n    command: [serve]\n", "lib/base.yaml")
    _compose(tmp_path, "services:\n  inc:\n    image: inc:${IV}\n", "sub/inc.yaml")
    (tmp_path / "sub" / "inc.env").write_text("IV=from-include-env\n")
    f = _compose(
        tmp_path,
        "include:\n  - path: ../sub/inc.yaml\n    env_file: ../sub/inc.env\n"
        "services:\n  web:\n    extends: {file: ../lib/base.yaml, service: base}\n"
        "  same:\n    extends: web\n    command: other\n"
        "  loop1:\n    extends: loop2\n  loop2:\n    extends: loop1\n    image: x\n"
        "  built:\n    build: .\n",
        "app/compose.yaml",
    )
    report = read_inputs([str(f)], environ={})
    got = {(u.origins[0].workload, u.ref, tuple(u.args or ())) for u in report.uses}
    assert got == {
        ("service web", "base:1", ("serve",)),
        ("service same", "base:1", ("other",)),
        ("service loop1", "x", ()),
        ("service loop2", "x", ()),
        ("service inc", "inc:from-include-env", ()),
    }
    assert [(s.where, s.reason) for s in report.skipped] == [("services.built", "build-only")]
    assert any("cycle" in w.message for w in report.warnings)


def test_pod_templates_in_any_kind_and_what_was_skipped() -> None:
    report = read_inputs([str(CORPUS / "flux-helmrelease-podinfo")], environ={})
    assert report.uses == [] and report.errors == []
    assert {(s.where, s.reason) for s in report.skipped if s.file.endswith("release.yaml")} == {
        ("HelmRelease/podinfo", "no-pod-template")
    }
    tekton = read_inputs([str(CORPUS / "tekton-taskrun-sidecar" / "sidecar-ready.yaml")], environ={})
    paths = sorted(u.origins[0].path for u in tekton.uses)
    assert paths == ["spec.taskSpec.sidecars[0].image", "spec.taskSpec.steps[0].image"]


def test_unbalanced_quote_in_a_compose_command_does_not_raise(tmp_path: Path) -> None:
    body = "services:\n  a:\n    image: alpine\n    command: \"sh -c 'echo hi\"\n    entrypoint: '/bin/x \"'\n"
    report = read_inputs([str(_compose(tmp_path, body))], environ={})
    assert [u.ref for u in report.uses] == ["alpine"] and report.uses[0].args == ["sh", "-c", "'echo", "hi"]
    assert report.uses[0].command == ["/bin/x", '"']
    assert any("No closing quotation" in w.message for w in report.warnings)


def test_bytes_decode_like_files() -> None:
    assert decode(b"\xef\xbb\xbfkind: Pod", "f") == "kind: Pod"
    assert decode("kind: Pod".encode("utf-16"), "f") == "kind: Pod"
    with pytest.raises(Exception, match="not UTF-8 text"):
        decode(b"kind: Pod\n\x80", "f")


# -- through the real CLI, registries refused (a proxy on a closed loopback port) -------------------------------


def _closed_port() -> int:
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return int(port)


def cli_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower() and not k.startswith("KDOCTOR")}
    proxy = f"http://127.0.0.1:{_closed_port()}"
    env.update(HOME=str(home), DOCKER_CONFIG=str(home / ".docker"), HTTPS_PROXY=proxy, HTTP_PROXY=proxy)
    env["XDG_CACHE_HOME"] = str(home / "cache")
    return env


def scan_cli(home: Path, *args: str, stdin: str | bytes | None = None, timeout: float = 60) -> tuple[int, dict, str]:
    res = cli.run_kdoctor(
        *cli.IMAGES_ARM64_QEMU, "-o", "json", *args, input=stdin, timeout=timeout, env=cli_env(home), inherit_env=False
    )
    assert "Traceback" not in res.stderr, res.stderr
    return res.returncode, json.loads(res.stdout), res.stderr


def test_a_directory_with_broken_files_reports_the_others(tmp_path: Path) -> None:
    d = tmp_path / "repo"
    shutil.copytree(CORPUS / "k8s-website-init-containers", d / "pods")
    shutil.copytree(CORPUS / "cert-manager-helm-template" / "templates", d / "chart" / "templates")
    shutil.copy(CORPUS / "vite-tsconfig-not-a-manifest" / "tsconfig.json", d / "tsconfig.json")
    shutil.copy(CORPUS / "awesome-compose-react-express-mongodb" / "compose.yaml", d / "compose.yaml")
    for extra in d.rglob("expected.yaml"):
        extra.unlink()
    code, doc, _ = scan_cli(tmp_path, "-f", str(d))
    assert code == 2  # one file failed; the others were scanned and are all in the JSON
    assert sorted(i["ref"] for i in doc["images"]) == ["busybox:1.28", "mongo:latest", "nginx"]
    assert [(Path(e["file"]).name, bool(e["hint"])) for e in doc["errors"]] == [("deployment.yaml", True)]
    assert "helm template" in doc["errors"][0]["hint"]
    assert {(Path(s["file"]).name, s["reason"]) for s in doc["skipped"]} >= {
        ("tsconfig.json", "not-a-manifest"),
        ("compose.yaml", "build-only"),
    }
    assert all(i["verdict"] == "unknown" for i in doc["images"]) and doc["summary"]["unknown"] == 3
    uses = next(i for i in doc["images"] if i["ref"] == "nginx")["uses"]
    assert uses == [
        {
            "file": str(d / "pods" / "init-containers.yaml"),
            "workload": "Pod/init-demo",
            "container": "nginx",
            "path": "spec.containers[0].image",
            "line": 11,  # `      image: "nginx",` (a flow mapping; the scalar starts at its quote)
            "column": 14,
            "written_in": None,
            "command": None,
            "args": None,
            "verdict": "unknown",
        }
    ]


def test_non_utf8_stdin_is_a_clean_per_file_error(tmp_path: Path) -> None:
    code, doc, _ = scan_cli(tmp_path, "-f", "-", "nginx:1.27", stdin=b"kind: Pod\nmetadata: {name: \x80\xff}\n")
    assert code == 2 and doc["errors"][0]["file"] == "<stdin>" and "not UTF-8" in doc["errors"][0]["message"]
    assert [i["ref"] for i in doc["images"]] == ["nginx:1.27"]


BOMB_LEVELS = 12  # 9**12 (2.8e11) strings if expanded; the issue's 450-byte bomb had fewer levels


def _bomb() -> str:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, BOMB_LEVELS):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]")
    merges = ["m0: &m0 {k: v, image: x}"] + [
        f"m{i}: &m{i} {{<<: [" + ",".join([f"*m{i - 1}"] * 9) + "]}" for i in range(1, BOMB_LEVELS)
    ]
    top = BOMB_LEVELS - 1
    k8s = (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: bomb}\nx-lol:\n  " + "\n  ".join(lines) + "\n"
        f"spec:\n  containers:\n  - name: c\n    image: busybox\n    command: *a{top}\n    args: *a{top}\n"
    )
    compose = (
        "x-lol:\n  " + "\n  ".join(lines + merges) + "\n"
        f"services:\n  web:\n    image: busybox\n    command: *a{top}\n    environment: *a{top}\n"
        f"  merged:\n    <<: *m{top}\n"
    )
    return k8s + "---\n" + compose


def test_alias_bomb_ends_in_seconds_and_small_memory(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(_bomb())
    assert bomb.stat().st_size < 3000
    # A parent that measures only its child: RUSAGE_CHILDREN of this test process would include other tests'.
    probe = (
        "import json, resource, subprocess, sys, time\n"
        "t = time.monotonic()\n"
        "r = subprocess.run(sys.argv[1:], capture_output=True, timeout=60,"
        " preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30)))\n"
        "print(json.dumps({'rc': r.returncode, 's': time.monotonic() - t, 'stdout': r.stdout.decode(),"
        " 'stderr': r.stderr.decode(errors='replace'),"
        " 'rss_kb': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))\n"
    )
    res = subprocess.run(
        [sys.executable, "-c", probe, *cli.KDOCTOR, *cli.IMAGES_ARM64_QEMU, "-o", "json", "-f", str(bomb)],
        capture_output=True,
        timeout=120,
        env=cli_env(tmp_path),
    )
    out = json.loads(res.stdout)
    assert "Traceback" not in out["stderr"] and "MemoryError" not in out["stderr"], out["stderr"][-2000:]
    doc = json.loads(out["stdout"])
    assert {i["ref"] for i in doc["images"]} == {"busybox", "x"}
    assert out["s"] < 10 and out["rss_kb"] < 200 * 1024, (out["s"], out["rss_kb"])
    print(f"alias bomb ({BOMB_LEVELS} levels): {out['s']:.2f}s, max RSS {out['rss_kb'] / 1024:.0f} MB")


def test_one_row_per_image_keeps_a_verdict_per_command() -> None:
    """Two commands of one image judged differently: one row, the worst verdict first, both under `commands`."""
    from io import StringIO

    from rich.console import Console

    from kdoctor.images.command import ScanOutcome
    from kdoctor.images.inputs.uses import Origin
    from kdoctor.images.render import render
    from kdoctor.images.scan import ImageResult
    from kdoctor.platforms import Platform

    def result(args: list[str] | None, verdict: str, *origins: Origin) -> ImageResult:
        return ImageResult(
            ref="app:1", resolved="docker.io/library/app:1", verdict=verdict, reason=verdict, args=args,
            origins=list(origins), sources=[o.text() for o in origins], registry="docker.io",
        )  # fmt: skip

    a, b, c = (Origin("k.yaml", f"Deployment/{n}", "main", "spec.template.spec.containers[0].image") for n in "abc")
    results = [
        result(None, "emulated", a, b),
        result(["/bin/go-tool"], "crash", c),
        ImageResult(ref="nginx", resolved="docker.io/library/nginx:latest", verdict="native", origins=[a]),
    ]
    outcome = ScanOutcome(Platform.parse("linux/arm64"), "qemu", "flag", results, {}, {}, 0.1)
    doc = outcome.to_json()
    assert [i["ref"] for i in doc["images"]] == ["app:1", "nginx"] and doc["uses"] == 4
    assert doc["summary"] == {"native": 1, "emulated": 0, "crash": 1, "unsupported": 0, "unknown": 0}
    row = doc["images"][0]
    assert row["verdict"] == "crash" and [(c["args"], c["verdict"], c["uses"]) for c in row["commands"]] == [
        (["/bin/go-tool"], "crash", 1),
        (None, "emulated", 2),
    ]
    assert [u["workload"] for u in row["uses"]] == ["Deployment/c", "Deployment/a", "Deployment/b"]
    assert outcome.exit_code() == 1
    buf = StringIO()
    render(outcome, Console(file=buf, width=200), verbose=False)
    text = buf.getvalue()
    assert "2 image(s) in 4 use(s): 1 crash, 1 native" in text
    assert "with `(image default)`: emulated: emulated" in text
    # One line for the uses: the first, and a count of the others (every use with -v).
    assert "used by k.yaml (Deployment/c container main), and 2 more (-v lists them)" in text
    buf = StringIO()
    render(outcome, Console(file=buf, width=200), verbose=True)
    assert all(f"used by k.yaml (Deployment/{n} container main)" in buf.getvalue() for n in "abc")


def test_env_file_flag_through_the_cli(tmp_path: Path) -> None:
    f = _compose(tmp_path, "services:\n  a:\n    image: registry.kdoctor.invalid/app:${TAG:?set TAG}\n")
    (tmp_path / "ci.env").write_text("TAG=from-flag\n")
    code, doc, _ = scan_cli(tmp_path, "-f", str(f), "--env-file", str(tmp_path / "ci.env"))
    assert code == 3 and [i["ref"] for i in doc["images"]] == ["registry.kdoctor.invalid/app:from-flag"]
    res = cli.run_kdoctor(
        *cli.IMAGES_ARM64_QEMU,
        "-f",
        str(f),
        "--env-file",
        str(tmp_path / "nope.env"),
        env=cli_env(tmp_path),
        inherit_env=False,
    )
    assert res.returncode == 2 and "nope.env: no such file" in res.stderr and "Traceback" not in res.stderr
