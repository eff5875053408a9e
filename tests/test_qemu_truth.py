"""Ground truth for the risk catalogue: which x86-64 levels QEMU user mode runs, measured on this machine.

Builds the programs of tests/support/isa_programs.py with gcc and runs each under Debian's qemu-x86_64-static with
its default CPU model and with -cpu max, qemu64 and Nehalem, then compares every outcome with the table
recorded in checks/risks.yaml (`measured.qemu-user`). On an amd64 host this is amd64-on-amd64 under TCG:
qemu-user translates every instruction and answers CPUID from its CPU model, so the host CPU does not decide.
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO, require_real
from tests.support.isa_programs import PROGRAMS, build
from tests.support.tiers import uses_real_part

pytestmark = pytest.mark.real  # QEMU user-mode and gcc, run here

MEASURED = yaml.safe_load((REPO / "checks" / "risks.yaml").read_text())["measured"]["qemu-user"]
SIGILL_TEXT = "qemu: uncaught target signal 4 (Illegal instruction) - core dumped"


def qemu() -> str:
    uses_real_part("qemu-x86_64-static")
    exe = shutil.which("qemu-x86_64-static")
    if not exe:
        require_real("qemu-x86_64-static is not installed (Debian package qemu-user-static)")
    return str(exe)


def outcome(exe: str, model: str, program: Path) -> str:
    """runs | SIGILL | ISA-LEVEL, checked against the exact exit status and message; anything else verbatim."""
    argv = [exe, *([] if model == "default" else ["-cpu", model]), str(program)]
    r = subprocess.run(argv, capture_output=True, timeout=60, text=True)
    err = r.stderr.strip()
    if r.returncode == 0:
        return "runs"
    # qemu-user re-raises the guest's signal on itself: Python sees -4 (a shell would report 132).
    if r.returncode == -signal.SIGILL and SIGILL_TEXT in err:
        return "SIGILL"
    if r.returncode == 127 and err == f"{program}: CPU ISA level is lower than required":
        return "ISA-LEVEL"
    return f"exit {r.returncode}: {err[:200]}"


@pytest.fixture(scope="module")
def programs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return build(tmp_path_factory.mktemp("isa"))


def test_recorded_version_is_the_installed_one() -> None:
    out = subprocess.run([qemu(), "--version"], capture_output=True, text=True, timeout=30).stdout
    m = re.search(r"version (\d+\.\d+)", out)
    assert m, out
    # The table is a claim about this QEMU release; another release must be re-measured and recorded.
    assert m.group(1) == MEASURED["version"], out


def test_table_covers_every_program() -> None:
    assert set(MEASURED["programs"]) == set(PROGRAMS)
    for row in MEASURED["programs"].values():
        assert set(row) - {"built"} == set(MEASURED["models"])
        assert set(row.values()) - {row["built"]} <= set(MEASURED["outcomes"])


@pytest.mark.parametrize("name", list(PROGRAMS))
def test_qemu_outcomes_match_the_recorded_table(programs: dict[str, Path], name: str) -> None:
    exe = qemu()
    row = MEASURED["programs"][name]
    measured = {model: outcome(exe, model, programs[name]) for model in MEASURED["models"]}
    assert measured == {model: row[model] for model in MEASURED["models"]}


def test_the_markers_are_what_the_loader_reads(programs: dict[str, Path]) -> None:
    """The -mneeded builds carry the note kdoctor's ELF reader finds; the plain build carries none above v1."""
    from kdoctor.images.inspect.identify import isa_needed

    levels = {name: isa_needed(programs[name].read_bytes()) for name in ("note-v2", "note-v3", "note-v4", "baseline")}
    assert levels == {"note-v2": "v2", "note-v3": "v3", "note-v4": "v4", "baseline": None}
