"""The kdoctor-images hook run by the real pre-commit (PyPI) in a scratch git repository, the way a team uses it
(issue 27, item 5): pre-commit clones this checkout at its commit, installs kdoctor from it into its own
environment, and runs the hook on `git commit` against the real test registry.

The checkout's committed state is what runs (pre-commit installs hooks from a commit): under CI the checkout is a
clean clone. Locally, commit first; the test says so when the hook file is not committed.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.registry_fixtures import Images
from tests.test_reports import manifest

CHECKOUT = Path(__file__).resolve().parent.parent
PRE_COMMIT = Path(sys.executable).parent / "pre-commit"


def git(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=600, env=env)


@pytest.mark.slow
def test_the_hook_gates_a_commit_by_the_team_policy(images: Images, tmp_path: Path) -> None:
    committed = git(CHECKOUT, "ls-files", "--error-unmatch", ".pre-commit-hooks.yaml")
    if committed.returncode != 0:
        pytest.fail(".pre-commit-hooks.yaml is not committed in this checkout: pre-commit installs hooks from a commit")
    rev = git(CHECKOUT, "rev-parse", "HEAD").stdout.strip()
    team = tmp_path / "team"
    team.mkdir()
    env = {
        **os.environ,
        "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"),
        "KDOCTOR_CACHE_DIR": str(tmp_path / "cache"),
        "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid",
        "PATH": f"{PRE_COMMIT.parent}:{os.environ.get('PATH', '')}",
    }  # fmt: skip
    assert git(team, "init", "-q", "-b", "main", env=env).returncode == 0
    (team / ".pre-commit-config.yaml").write_text(
        f"repos:\n- repo: {CHECKOUT}\n  rev: {rev}\n  hooks:\n  - id: kdoctor-images\n"
        "    args: [--platform, linux/arm64, --emulator, qemu]\n"
    )
    installed = subprocess.run([str(PRE_COMMIT), "install"], cwd=team, capture_output=True, text=True, env=env)
    assert installed.returncode == 0, installed.stderr

    def commit(message: str) -> subprocess.CompletedProcess[str]:
        git(team, "add", "-A", env=env)
        return git(team, "commit", "-q", "-m", message, env=env)

    deploy = team / "deploy.yaml"
    deploy.write_text(manifest([images.ref("amd64only")]))  # amd64 only, Go 1.19: crashes under QEMU
    first = commit("add the app")
    assert first.returncode != 0, first.stdout + first.stderr
    said = first.stdout + first.stderr  # git shows the hook's output on stderr
    assert "kdoctor images" in said and "1 crash" in said
    deploy.write_text(manifest([images.ref("multi")]))  # a tag with arm64
    assert commit("use the multi-arch tag").returncode == 0

    future = (dt.date.today() + dt.timedelta(days=60)).isoformat()
    policy = ("allow:\n  - image: '*/kdoctor/hello:amd64only'\n    reason: the vendor ships arm64 in March\n"
              "    expires: {date}\n")  # fmt: skip
    (team / ".kdoctor.yaml").write_text(policy.format(date=future))
    deploy.write_text(manifest([images.ref("amd64only")]))
    accepted = commit("accept the legacy image until the vendor ships arm64")
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    past = (dt.date.today() - dt.timedelta(days=1)).isoformat()
    (team / ".kdoctor.yaml").write_text(policy.format(date=past))
    deploy.write_text(manifest([images.ref("amd64only")]) + "# touched\n")
    expired = commit("the date has passed")
    assert expired.returncode != 0 and "EXPIRED" in expired.stderr + expired.stdout, expired.stderr
