"""kdoctor installed as users install a command-line tool (issue 27, item 5): `pipx install` and `uv tool install`,
from this checkout and from a wheel built from it, each into a fresh tool home, then run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

CHECKOUT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def run(argv: list[str], env: dict[str, str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    built = run([str(BIN / "uv"), "build", "--wheel", "--out-dir", str(out), str(CHECKOUT)], dict(os.environ))
    assert built.returncode == 0, built.stderr
    (whl,) = out.glob("kdoctor-*.whl")
    return whl


@pytest.mark.slow
@pytest.mark.parametrize("tool", ["pipx", "uv"])
@pytest.mark.parametrize("source", ["checkout", "wheel"])
def test_installed_as_a_tool(tool: str, source: str, tmp_path: Path, wheel: Path) -> None:
    home = tmp_path / "tools"
    bindir = tmp_path / "bin"
    env = {
        **os.environ,
        "PIPX_HOME": str(home), "PIPX_BIN_DIR": str(bindir),
        "UV_TOOL_DIR": str(home), "UV_TOOL_BIN_DIR": str(bindir), "UV_CACHE_DIR": str(tmp_path / "uv-cache"),
    }  # fmt: skip
    target = str(CHECKOUT if source == "checkout" else wheel)
    argv = [str(BIN / "pipx"), "install", target] if tool == "pipx" else [str(BIN / "uv"), "tool", "install", target]
    installed = run(argv, env)
    assert installed.returncode == 0, installed.stderr
    version = run([str(bindir / "kdoctor"), "--version"], env)
    assert version.returncode == 0 and version.stdout.startswith("kdoctor "), version.stdout + version.stderr
    # The catalogues ship in the wheel: a command that reads them works from the installed tool.
    explained = run([str(bindir / "kdoctor"), "explain", "KD305"], env, cwd=tmp_path)
    assert explained.returncode == 0 and "known_bad" in explained.stdout
