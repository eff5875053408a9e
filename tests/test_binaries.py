"""Binary architecture from Mach-O / ELF headers (KD201, KD502 read this)."""

from __future__ import annotations

import struct
import sys

from kdoctor.facts.binaries import arch_from_header, binary_arch


def macho(cputype: int) -> bytes:
    return struct.pack("<III", 0xFEEDFACF, cputype, 0) + b"\0" * 20


def fat(*cputypes: int) -> bytes:
    head = struct.pack(">II", 0xCAFEBABE, len(cputypes))
    for c in cputypes:
        head += struct.pack(">IIIII", c, 0, 0, 0, 0)
    return head


def test_thin_macho() -> None:
    assert arch_from_header(macho(0x0100000C)) == "arm64"
    assert arch_from_header(macho(0x01000007)) == "x86_64"


def test_universal_macho() -> None:
    assert arch_from_header(fat(0x01000007, 0x0100000C)) == "universal"
    assert arch_from_header(fat(0x01000007)) == "x86_64"


def test_elf_of_the_running_interpreter() -> None:
    import platform

    expected = {"x86_64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}[platform.machine()]
    assert binary_arch(sys.executable) == expected


def test_scripts_garbage_and_missing_files() -> None:
    assert arch_from_header(b"#!/bin/sh\necho hi\n") == "script"
    assert arch_from_header(b"\x00" * 64) == "unknown"
    assert arch_from_header(b"") == "unknown"
    assert arch_from_header(b"\xca\xfe\xba\xbe\x00\x00\x00\x33") == "unknown"  # a Java class file
    assert binary_arch("/nonexistent/kdoctor") == "unknown"
