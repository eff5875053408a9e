"""The words of the domain that several verbs share, each defined once.

They are public contracts: the JSON of `diagnose`, `images` and `why` carries them as plain strings (a
`StrEnum` member is a `str`, so it serialises as its value), and scripts compare against them. Add words;
never rename one.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class Emulator(StrEnum):
    """What runs code of a foreign architecture on a node or engine VM."""

    QEMU = "qemu"  # qemu-user through binfmt_misc (Colima qemu, Docker Desktop without Rosetta, BuildKit)
    ROSETTA = "rosetta"  # Apple's Rosetta for Linux (Docker Desktop, Colima vz, OrbStack, Lima)
    FEX = "fex"  # FEX-Emu (Podman/krunkit on some setups)
    NONE = "none"  # nothing: a foreign binary fails with `exec format error`
    UNKNOWN = "unknown"  # kdoctor could not tell


# The emulators whose failure modes the catalogues (risks.yaml, signatures.yaml) describe; a rule's effect and
# a signature's claim name one of these.
TRANSLATORS: Final = (Emulator.QEMU, Emulator.ROSETTA)


class Verdict(StrEnum):
    """What happens when a node of the target platform runs an image (README, "Verdicts")."""

    NATIVE = "native"
    EMULATED = "emulated"
    CRASH = "crash"
    UNSUPPORTED = "unsupported"
    UNKNOWN = "unknown"


# How bad each verdict is, for sorting and for the exit code (crash and unsupported are equally fatal).
SEVERITY_ORDER: Final[dict[str, int]] = {
    Verdict.NATIVE: 0,
    Verdict.EMULATED: 1,
    Verdict.UNKNOWN: 2,
    Verdict.UNSUPPORTED: 3,
    Verdict.CRASH: 3,
}


# `kdoctor images --fail-on V` fails the run on V and every verdict above it, in this order (issue 27): a crash, an
# image that cannot run, one that runs emulated, one kdoctor could not tell. `--fail-on emulated` thus passes an
# unreachable registry's `unknown` (offline-safe), `--fail-on unknown` fails on anything not native.
GATE_ORDER: Final[dict[str, int]] = {
    Verdict.NATIVE: 0,
    Verdict.UNKNOWN: 1,
    Verdict.EMULATED: 2,
    Verdict.UNSUPPORTED: 3,
    Verdict.CRASH: 4,
}
