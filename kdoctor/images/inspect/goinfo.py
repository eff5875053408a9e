"""ELF facts and Go build info (`go version -m`) read from a binary's bytes.

Format: golang/go src/debug/buildinfo/buildinfo.go.
Magic "\\xff Go buildinf:" 16-byte aligned in `.go.buildinfo` (or the first writable PT_LOAD);
Go >= 1.18 inlines two uvarint-prefixed strings; Go 1.13-1.17 stores two pointers to Go strings.
Every function here takes untrusted bytes: it returns None or raises BinaryError, nothing else.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass, field

from kdoctor.errors import KdoctorError

MAGIC = b"\xff Go buildinf:"
SEARCH_WINDOW = 64 * 1024
EM = {62: "amd64", 183: "arm64", 3: "386", 40: "arm", 243: "riscv64", 21: "ppc64", 22: "s390x"}


class BinaryError(KdoctorError):
    """The bytes are not an ELF file kdoctor can read."""


@dataclass(frozen=True)
class ElfInfo:
    machine: str  # "amd64", "arm64", ... or "em:<n>"
    bits: int
    static: bool
    interpreter: str | None


@dataclass(frozen=True)
class GoInfo:
    version: str  # "go1.22.3"
    path: str | None = None  # main package path
    module: str | None = None  # main module path
    settings: dict[str, str] = field(default_factory=dict)

    @property
    def goarch(self) -> str | None:
        return self.settings.get("GOARCH")

    @property
    def goamd64(self) -> str | None:
        return self.settings.get("GOAMD64")

    @property
    def cgo(self) -> bool | None:
        v = self.settings.get("CGO_ENABLED")
        return None if v is None else v == "1"


def _elf(data: bytes):  # type: ignore[no-untyped-def]
    from elftools.common.exceptions import ELFError
    from elftools.elf.elffile import ELFFile

    if data[:4] != b"\x7fELF":
        raise BinaryError("not an ELF file")
    try:
        return ELFFile(io.BytesIO(data))
    except (ELFError, struct.error, ValueError, KeyError, IndexError, TypeError) as exc:
        raise BinaryError(f"corrupt ELF header: {exc}") from None


def elf_info(data: bytes) -> ElfInfo:
    from elftools.common.exceptions import ELFError

    elf = _elf(data)
    try:
        machine_n = elf.header["e_machine"]
        machine = {"EM_X86_64": "amd64", "EM_AARCH64": "arm64", "EM_386": "386", "EM_ARM": "arm"}.get(
            machine_n, machine_n if isinstance(machine_n, str) else f"em:{machine_n}"
        )
        interp = None
        for seg in elf.iter_segments():
            if seg["p_type"] == "PT_INTERP":
                raw = data[seg["p_offset"] : seg["p_offset"] + min(seg["p_filesz"], 4096)]
                interp = raw.split(b"\0", 1)[0].decode("utf-8", "replace")
        return ElfInfo(machine=str(machine), bits=elf.elfclass, static=interp is None, interpreter=interp)
    except (ELFError, struct.error, ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
        raise BinaryError(f"corrupt ELF program headers: {exc}") from None


def _data_start(data: bytes) -> list[tuple[int, int, int, int]]:
    """Candidate regions (file offset, size) to search, plus the PT_LOAD map for pointers."""
    from elftools.common.exceptions import ELFError

    elf = _elf(data)
    regions: list[tuple[int, int, int, int]] = []
    try:
        for sec in elf.iter_sections():
            if sec.name == ".go.buildinfo":
                regions.append((sec["sh_offset"], sec["sh_size"], 0, 0))
        for seg in elf.iter_segments():
            flags = seg["p_flags"]
            if seg["p_type"] == "PT_LOAD" and flags & 2 and not flags & 1:  # PF_W, not PF_X
                regions.append((seg["p_offset"], seg["p_filesz"], 0, 0))
                break
    except (ELFError, struct.error, ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
        raise BinaryError(f"corrupt ELF sections: {exc}") from None
    return regions


def _load_map(data: bytes) -> list[tuple[int, int, int]]:
    from elftools.common.exceptions import ELFError

    try:
        return [
            (s["p_vaddr"], s["p_filesz"], s["p_offset"]) for s in _elf(data).iter_segments() if s["p_type"] == "PT_LOAD"
        ]
    except (ELFError, struct.error, ValueError, KeyError, IndexError, TypeError, AttributeError):
        return []


def _uvarint(buf: bytes, pos: int) -> tuple[int, int]:
    result, shift = 0, 0
    while True:
        if pos >= len(buf) or shift > 63:
            raise BinaryError("truncated Go build info")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, pos
        shift += 7


def _read_go_string(data: bytes, loads: list[tuple[int, int, int]], addr: int, ptr: int, order: str) -> bytes:
    def at(vaddr: int, size: int) -> bytes:
        for base, filesz, off in loads:
            if base <= vaddr < base + filesz and vaddr + size <= base + filesz:
                start = off + vaddr - base
                return data[start : start + size]
        raise BinaryError("Go build info points outside the file")

    fmt = order + ("Q" if ptr == 8 else "I")
    header = at(addr, 2 * ptr)
    if len(header) < 2 * ptr:
        raise BinaryError("truncated Go string header")
    sdata, slen = struct.unpack_from(fmt, header, 0)[0], struct.unpack_from(fmt, header, ptr)[0]
    if slen > 1 << 20:
        raise BinaryError("implausible Go string length")
    return at(sdata, slen) if slen else b""


def _decode_header(data: bytes, off: int) -> tuple[str, str]:
    hdr = data[off : off + 32]
    if len(hdr) < 32:
        raise BinaryError("truncated Go build info header")
    ptr, flags = hdr[14], hdr[15]
    if flags & 2:  # Go >= 1.18: inline strings
        pos = off + 32
        vlen, pos = _uvarint(data, pos)
        version = data[pos : pos + vlen]
        pos += vlen
        mlen, pos = _uvarint(data, pos)
        mod = data[pos : pos + mlen]
        if len(version) != vlen or len(mod) != mlen:
            raise BinaryError("truncated Go build info strings")
    else:
        if ptr not in (4, 8):
            raise BinaryError(f"unexpected pointer size {ptr} in Go build info")
        order = ">" if flags & 1 else "<"
        fmt = order + ("Q" if ptr == 8 else "I")
        loads = _load_map(data)
        version_addr = struct.unpack_from(fmt, hdr, 16)[0]
        mod_addr = struct.unpack_from(fmt, hdr, 16 + ptr)[0]
        version = _read_go_string(data, loads, version_addr, ptr, order)
        mod = _read_go_string(data, loads, mod_addr, ptr, order)
    if len(mod) >= 33 and mod[-17] == 0x0A:
        mod = mod[16:-16]
    return version.decode("utf-8", "replace"), mod.decode("utf-8", "replace")


def _unquote(s: str) -> str:
    if len(s) >= 2 and s[0] == s[-1] and s[0] in '"`':
        import ast

        try:
            return str(ast.literal_eval(s)) if s[0] == '"' else s[1:-1]
        except (ValueError, SyntaxError):
            return s[1:-1]
    return s


def parse_modinfo(mod: str) -> tuple[str | None, str | None, dict[str, str]]:
    path = module = None
    settings: dict[str, str] = {}
    for line in mod.splitlines():
        key, _, rest = line.partition("\t")
        if key == "path":
            path = rest.strip()
        elif key == "mod":
            module = rest.split("\t", 1)[0].strip() or None
        elif key == "build":
            k, _, v = rest.partition("=")
            settings[_unquote(k)] = _unquote(v)
    return path, module, settings


def go_info(data: bytes) -> GoInfo | None:
    """Go build info, or None for a binary that is not Go (or whose build info is stripped)."""
    for offset, size, _, _ in _data_start(data):
        window = data[offset : offset + min(size, SEARCH_WINDOW)]
        idx = 0
        while True:
            idx = window.find(MAGIC, idx)
            if idx < 0:
                break
            if idx % 16 == 0:
                version, mod = _decode_header(data, offset + idx)
                if not version.startswith("go"):
                    raise BinaryError(f"Go build info holds no Go version ({version[:40]!r})")
                path, module, settings = parse_modinfo(mod)
                return GoInfo(version=version, path=path, module=module, settings=settings)
            idx += 1
    return None
