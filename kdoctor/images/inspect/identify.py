"""What identifies an image for the risk catalogue: its os-release, the ELF ISA marker of its entrypoint, the
runtime the entrypoint starts, and the env/labels of its config. Pure functions over untrusted bytes.

os-release format: freedesktop os-release(5) (KEY=value lines, values optionally quoted).
ELF note: NT_GNU_PROPERTY_TYPE_0 (5) in .note.gnu.property, owner "GNU", properties of (pr_type u32,
pr_datasz u32, data padded to 8 bytes); GNU_PROPERTY_X86_ISA_1_NEEDED = 0xc0008002 with bit 0 baseline,
bit 1 v2, bit 2 v3, bit 3 v4 (glibc commit ecce11aa0752; binutils' elf/common.h).
"""

from __future__ import annotations

import posixpath
import re
import shlex
import struct
from dataclasses import dataclass, field
from typing import Any

OS_RELEASE_PATHS = ("/etc/os-release", "/usr/lib/os-release")  # os-release(5): the first one wins
OS_RELEASE_CAP = 64 << 10
NT_GNU_PROPERTY_TYPE_0 = 5
GNU_PROPERTY_X86_ISA_1_NEEDED = 0xC0008002
ISA_BITS = ((3, "v4"), (2, "v3"), (1, "v2"))
# Program names that say which runtime the entrypoint starts (after wrappers and #! interpreters).
RUNTIMES = {
    "dotnet": "dotnet",
    "node": "node",
    "nodejs": "node",
    "java": "java",
    "python": "python",
    "python3": "python",
}


@dataclass
class ImageFacts:
    """The facts risk rules match on. Absent facts stay None: a rule on them simply does not match."""

    os_release: dict[str, str] | None = None
    os_release_path: str | None = None
    os_release_note: str | None = None  # why it is absent (not found, not read, unreadable)
    isa_needed: str | None = None  # "v2" | "v3" | "v4" from the entrypoint's ELF marker
    runtime: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    repository: str = ""
    argv: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        keep = ("ID", "VERSION_ID", "PLATFORM_ID", "ID_LIKE")
        return {
            "os_release": None
            if self.os_release is None
            else {k: v for k, v in self.os_release.items() if k in keep} | {"path": self.os_release_path},
            "isa_needed": self.isa_needed,
            "runtime": self.runtime,
        }


def parse_os_release(data: bytes) -> dict[str, str]:
    out: dict[str, str] = {}
    for raw in data[:OS_RELEASE_CAP].decode("utf-8", "replace").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        try:
            words = shlex.split(value)
        except ValueError:
            words = [value.strip("\"'")]
        out[key.strip()] = " ".join(words)
    return out


def os_version_major(os_release: dict[str, str]) -> int | None:
    head = os_release.get("VERSION_ID", "").split(".", 1)[0]
    return int(head) if head.isdigit() else None


def isa_needed(data: bytes) -> str | None:
    """The highest x86-64 level the ELF's GNU property note says it needs, or None (no marker, not ELF)."""
    if data[:4] != b"\x7fELF" or len(data) < 64 or data[4] != 2 or data[5] != 1:
        return None  # only 64-bit little-endian ELF carries the x86-64 marker
    try:
        (shoff,) = struct.unpack_from("<Q", data, 0x28)
        shentsize, shnum, _shstrndx = struct.unpack_from("<HHH", data, 0x3A)
        if shentsize < 64 or shnum == 0 or shnum > 4096 or shoff + shnum * shentsize > len(data):
            return None
        for i in range(shnum):
            (sh_type,) = struct.unpack_from("<I", data, shoff + i * shentsize + 4)
            if sh_type != 7:  # SHT_NOTE
                continue
            off, size = struct.unpack_from("<QQ", data, shoff + i * shentsize + 0x18)
            level = _isa_from_notes(data[off : off + min(size, 1 << 16)])
            if level:
                return level
    except struct.error:
        return None
    return None


def _isa_from_notes(notes: bytes) -> str | None:
    pos = 0
    while pos + 12 <= len(notes):
        namesz, descsz, ntype = struct.unpack_from("<III", notes, pos)
        name_end = pos + 12 + ((namesz + 3) & ~3)
        desc = notes[name_end : name_end + descsz]
        if ntype == NT_GNU_PROPERTY_TYPE_0 and notes[pos + 12 : pos + 12 + namesz].rstrip(b"\0") == b"GNU":
            p = 0
            while p + 8 <= len(desc):
                pr_type, pr_size = struct.unpack_from("<II", desc, p)
                if pr_type == GNU_PROPERTY_X86_ISA_1_NEEDED and pr_size >= 4:
                    (bits,) = struct.unpack_from("<I", desc, p + 8)
                    return next((name for bit, name in ISA_BITS if bits & (1 << bit)), None)
                p += 8 + ((pr_size + 7) & ~7)
        pos = name_end + ((descsz + 7) & ~7 if ntype == NT_GNU_PROPERTY_TYPE_0 else (descsz + 3) & ~3)
    return None


def runtime_of(program: str | None) -> str | None:
    if not program:
        return None
    base = posixpath.basename(program)
    if re.fullmatch(r"python3(\.\d+)?", base):
        return "python"
    return RUNTIMES.get(base)


def env_dict(env: list[str]) -> dict[str, str]:
    out = {}
    for item in env:
        key, sep, value = item.partition("=")
        if sep and key:
            out[key] = value
    return out
