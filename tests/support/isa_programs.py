"""Small amd64 C programs that need x86-64-v2, -v3, -v4 or AVX, built with the machine's gcc.

Sources are in tests/data/isa/ (written for these tests). Used by the QEMU measurement
(tests/test_qemu_truth.py) and by the images fixtures (an ISA-marked binary in a registry image).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.conftest import require_real
from tests.support.tiers import uses_real_part

SRC = Path(__file__).parent.parent / "data" / "isa"

# name -> (source, gcc flags). `-mneeded` makes gcc emit GNU_PROPERTY_X86_ISA_1_NEEDED for the -march level.
PROGRAMS: dict[str, tuple[str, list[str]]] = {
    "v2-insns": ("v2.c", ["-march=x86-64-v2"]),
    "avx-insn": ("avx.c", []),
    "v3-insns": ("v3.c", ["-march=x86-64-v3"]),
    "v4-insns": ("v4.c", ["-march=x86-64-v4"]),
    "note-v2": ("hello.c", ["-march=x86-64-v2", "-mneeded"]),
    "note-v3": ("hello.c", ["-march=x86-64-v3", "-mneeded"]),
    "note-v4": ("hello.c", ["-march=x86-64-v4", "-mneeded"]),
    "baseline": ("hello.c", []),
}


def build(out: Path, names: list[str] | None = None) -> dict[str, Path]:
    uses_real_part("gcc")
    cc = shutil.which("gcc")
    if not cc:
        require_real("gcc is not installed")
    out.mkdir(parents=True, exist_ok=True)
    built = {}
    for name in names or list(PROGRAMS):
        src, flags = PROGRAMS[name]
        target = out / name
        if not target.exists():
            subprocess.run(
                [str(cc), "-O2", *flags, "-o", str(target), str(SRC / src)],
                check=True,
                capture_output=True,
                timeout=120,
            )
        built[name] = target
    return built
