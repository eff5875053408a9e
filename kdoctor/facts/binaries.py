"""Which CPU a binary is built for, from its Mach-O or ELF header.

An x86_64 `minikube` or `kubectl` left over from an Intel Homebrew under /usr/local runs under
Rosetta on Apple Silicon; minikube refuses the docker driver from such a binary.
"""

from __future__ import annotations

import struct
from pathlib import Path

_MACHO_CPU = {0x01000007: "x86_64", 0x0100000C: "arm64", 7: "i386", 12: "arm"}
_ELF_MACHINE = {62: "x86_64", 183: "arm64", 3: "i386", 40: "arm"}


def binary_arch(path: str | Path) -> str:
    """One of "arm64", "x86_64", "universal", "script", or "unknown" (never raises on bad bytes)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(4096)
    except OSError:
        return "unknown"
    return arch_from_header(head)


def arch_from_header(head: bytes) -> str:
    if len(head) < 8:
        return "unknown"
    if head[:2] == b"#!":
        return "script"
    magic_le = struct.unpack_from("<I", head)[0]
    magic_be = struct.unpack_from(">I", head)[0]
    if magic_le in (0xFEEDFACF, 0xFEEDFACE):
        return _MACHO_CPU.get(struct.unpack_from("<I", head, 4)[0], "unknown")
    if magic_be in (0xCAFEBABE, 0xCAFEBABF):
        # Java class files share this magic; a fat header has a small arch count.
        count = struct.unpack_from(">I", head, 4)[0]
        if 0 < count < 16:
            step = 20 if magic_be == 0xCAFEBABE else 32
            archs = set()
            for i in range(count):
                off = 8 + i * step
                if off + 4 > len(head):
                    break
                archs.add(_MACHO_CPU.get(struct.unpack_from(">I", head, off)[0], "unknown"))
            if archs == {"arm64"}:
                return "arm64"
            if archs == {"x86_64"}:
                return "x86_64"
            return "universal" if "arm64" in archs else "unknown"
        return "unknown"
    if head[:4] == b"\x7fELF" and len(head) >= 20:
        endian = "<" if head[5] == 1 else ">"
        machine = struct.unpack_from(endian + "H", head, 18)[0]
        return _ELF_MACHINE.get(machine, "unknown")
    return "unknown"
