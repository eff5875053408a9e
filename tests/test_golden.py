"""Golden files: the text of `images`, `why` and `up --dry-run` on real inputs, as the product prints it (issue 26).

A change to any report's text fails here with a diff, and is accepted only deliberately:

    KDOCTOR_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_golden.py

rewrites tests/golden/*.txt from the product's output (review the diff before committing). README's examples are
these files, and a test holds README to them, so README shows captured output, never typed.

What varies between runs and machines is normalised before the comparison, and only that: the scan's duration,
the port of the test registry, the test's temporary directory.
"""

from __future__ import annotations

import difflib
import os
import re
from pathlib import Path

import pytest
import yaml

from tests.conftest import FakeMachine
from tests.support.cli import KDOCTOR, run_kdoctor
from tests.support.terminal import Tmux
from tests.test_reports import ARM64_QEMU, CORPUS, DEMO, offline_env
from tests.test_up import mac, profile, up

__all__ = ["mac"]  # the fixture, used by name

GOLDEN = Path(__file__).parent / "golden"
WHY = Path(__file__).parent / "corpus" / "why"
README = Path(__file__).parent.parent / "README.md"
UPDATE = os.environ.get("KDOCTOR_UPDATE_GOLDEN") == "1"


def normalise(text: str, tmp: Path | None = None) -> str:
    text = re.sub(r"\bin \d+\.\d\ds\b", "in N.NNs", text)
    text = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", text)
    if tmp is not None:
        text = text.replace(str(tmp), "<tmp>")
    return "\n".join(line.rstrip() for line in text.splitlines()) + "\n"


def check(name: str, text: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.parent.mkdir(exist_ok=True)
        path.write_text(text)
        return
    want = path.read_text()
    if want != text:
        diff = "".join(difflib.unified_diff(want.splitlines(True), text.splitlines(True), f"golden/{name}", "now"))
        pytest.fail(f"{name} changed (KDOCTOR_UPDATE_GOLDEN=1 accepts it deliberately):\n{diff}", pytrace=False)


def test_images_on_the_demo_manifest(tmp_path: Path) -> None:
    ran = run_kdoctor("images", "-f", str(DEMO), *ARM64_QEMU, env=offline_env(tmp_path), cwd=DEMO.parent)
    check("images-demo.txt", normalise(ran.stdout.replace(str(DEMO), DEMO.name), tmp_path))


def test_images_on_the_demo_manifest_at_80_columns(tmux: Tmux, tmp_path: Path) -> None:
    lines = tmux.run([*KDOCTOR, "images", "-f", DEMO.name, *ARM64_QEMU], width=80, env=offline_env(tmp_path),
                     cwd=DEMO.parent)  # fmt: skip
    check("images-demo-80.txt", normalise("\n".join(lines), tmp_path))


def test_images_on_a_compose_file(tmp_path: Path) -> None:
    case = CORPUS / "airflow-compose"
    ran = run_kdoctor("images", "-f", "docker-compose.yaml", *ARM64_QEMU, env=offline_env(tmp_path), cwd=case)
    check("images-airflow-compose.txt", normalise(ran.stdout, tmp_path))


WHY_CASES = [
    "emu-go-lfstack-push-binfmt-openeuler",
    "cpu-illegal-instruction-colima-vz-rosetta",
    "emu-exec-format-error-podman-m1-alpine-k8s",
]


@pytest.mark.parametrize("case", WHY_CASES)
def test_why_on_a_real_log(case: str, tmp_path: Path) -> None:
    log = tmp_path / "pasted.log"
    log.write_text(yaml.safe_load((WHY / f"{case}.yaml").read_text())["log"])
    ran = run_kdoctor("why", "--log", str(log), cwd=tmp_path)
    check(f"why-{case}.txt", normalise(ran.stdout, tmp_path))


def test_why_at_80_columns(tmux: Tmux, tmp_path: Path) -> None:
    case = WHY_CASES[0]
    (tmp_path / "pasted.log").write_text(yaml.safe_load((WHY / f"{case}.yaml").read_text())["log"])
    lines = tmux.run([*KDOCTOR, "why", "--log", "pasted.log"], width=80, env={"TERM": "xterm-256color"}, cwd=tmp_path)
    assert all(len(line) <= 80 for line in lines), "\n".join(lines)
    check(f"why-{case}-80.txt", normalise("\n".join(lines), tmp_path))


@pytest.mark.slow
def test_up_dry_run_on_a_conflicting_cluster(mac: FakeMachine) -> None:
    body = "name: team\nprovider: minikube\ncluster: team\nresources: {{cpus: {cpus}, memory: 2GiB}}\n"
    profile(mac, "team", body.format(cpus=2) + "addons: [metrics-server]\n")
    assert up("--profile", "team")[0] == 0
    profile(mac, "team", body.format(cpus=3) + "addons: [ingress]\n")
    ran = run_kdoctor("up", "--profile", "team", "--dry-run", env={"NO_COLOR": "1"})
    check("up-dry-run-conflict.txt", normalise(ran.stdout, mac.root))


def test_readme_examples_are_captured_output() -> None:
    """Each README block introduced by `<!-- golden: NAME -->` is that golden file, verbatim."""
    text = README.read_text()
    pattern = re.compile(r"(<!-- golden: (\S+) -->\n```text\n)(.*?)```", re.S)
    if UPDATE:  # the examples follow the files just written (this test runs after them)
        text = pattern.sub(lambda m: m.group(1) + (GOLDEN / m.group(2)).read_text() + "```", text)
        README.write_text(text)
    blocks = [(m.group(2), m.group(3)) for m in pattern.finditer(text)]
    assert len(blocks) >= 3, "README shows the images, why and up --dry-run examples from tests/golden"
    for name, body in blocks:
        assert body == (GOLDEN / name).read_text(), f"README's {name} example is not the captured output"
