"""A forward-only tar reader over a decompressing stream: no seeks, no disk, bounded memory.

Handles ustar (with prefix), GNU long names/links and PAX path/linkpath/size. Names are returned
normalised (no leading "/" or "./"); nothing is ever written to disk, so hostile names are inert.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from kdoctor.errors import KdoctorError

BLOCK = 512
MAX_META = 1 << 20  # longest GNU/PAX header kdoctor will read


class LayerError(KdoctorError):
    """A layer that cannot be read: truncated, not a tar, over a size cap, or a digest mismatch."""


class ByteSource(Protocol):
    def read(self, n: int) -> bytes: ...


class Decompressor:
    """Pull compressed chunks, hash them, and hand out decompressed bytes, capping the total."""

    def __init__(self, chunks: Iterator[bytes], compression: str, *, max_bytes: int, expect_digest: str | None = None):
        self._chunks = chunks
        self._buf = bytearray()
        self._pos = 0
        self._eof = False
        self._max = max_bytes
        self.produced = 0
        self.compressed = 0
        self._hash = hashlib.sha256() if expect_digest and expect_digest.startswith("sha256:") else None
        self._expect = expect_digest
        self._kind = compression
        if compression == "gzip":
            self._d: object = zlib.decompressobj(wbits=47)  # gzip or zlib header, auto-detected
        elif compression == "zstd":
            import zstandard

            self._d = zstandard.ZstdDecompressor().decompressobj()
        else:
            self._d = None

    def _decompress(self, chunk: bytes) -> bytes:
        if self._d is None:
            return chunk
        try:
            if self._kind == "gzip":
                d: zlib._Decompress = self._d  # type: ignore[assignment]
                out = d.decompress(chunk, self._max - self.produced + 1)
                while d.unconsumed_tail and len(out) <= self._max - self.produced:
                    out += d.decompress(d.unconsumed_tail, self._max - self.produced + 1 - len(out))
                if d.eof and d.unused_data:  # concatenated gzip members
                    rest = d.unused_data
                    self._d = zlib.decompressobj(wbits=47)
                    out += self._decompress(rest)
                return out
            return self._d.decompress(chunk)  # type: ignore[attr-defined]
        except zlib.error as exc:
            raise LayerError(f"corrupt gzip stream: {exc}") from None
        except Exception as exc:  # zstandard.ZstdError and friends
            raise LayerError(f"corrupt {self._kind} stream: {exc}") from None

    def _fill(self, need: int) -> None:
        while len(self._buf) - self._pos < need and not self._eof:
            try:
                chunk = next(self._chunks)
            except StopIteration:
                self._eof = True
                self._verify()
                break
            self.compressed += len(chunk)
            if self._hash is not None:
                self._hash.update(chunk)
            out = self._decompress(chunk)
            self.produced += len(out)
            if self.produced > self._max:
                raise LayerError(f"layer decompresses to more than {self._max} bytes (a decompression bomb?)")
            if self._pos:
                del self._buf[: self._pos]
                self._pos = 0
            self._buf += out

    def _verify(self) -> None:
        if self._hash is not None and self._expect and f"sha256:{self._hash.hexdigest()}" != self._expect:
            raise LayerError(f"layer content does not match its digest {self._expect}")

    def read(self, n: int) -> bytes:
        self._fill(n)
        out = bytes(self._buf[self._pos : self._pos + n])
        self._pos += len(out)
        return out

    def skip(self, n: int) -> None:
        while n > 0:
            self._fill(min(n, 1 << 20))
            avail = len(self._buf) - self._pos
            if avail == 0:
                raise LayerError("layer ends in the middle of a file (truncated)")
            step = min(n, avail)
            self._pos += step
            n -= step

    def drain(self) -> None:
        """Read to the end (so the digest is checked)."""
        while not self._eof:
            self._fill(len(self._buf) - self._pos + (1 << 20))
            self._pos = len(self._buf)


@dataclass
class Member:
    name: str
    type: str  # "file", "dir", "symlink", "hardlink", "other"
    linkname: str
    size: int
    mode: int


def normalise(name: str) -> str:
    parts: list[str] = []
    for p in name.replace("\\", "/").split("/"):
        if p in ("", "."):
            continue
        if p == "..":
            if parts:
                parts.pop()
            continue
        parts.append(p)
    return "/".join(parts)


def _field(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("utf-8", "replace")


def _octal(raw: bytes) -> int:
    if raw and raw[0] & 0x80:  # GNU base-256
        return int.from_bytes(bytes([raw[0] & 0x7F]) + raw[1:], "big")
    text = raw.split(b"\0", 1)[0].strip(b" \0")
    try:
        return int(text or b"0", 8)
    except ValueError:
        raise LayerError("not a tar archive (bad header field)") from None


def _pax(data: bytes) -> dict[str, str]:
    out: dict[str, str] = {}
    pos = 0
    while pos < len(data):
        sp = data.find(b" ", pos)
        if sp < 0:
            break
        try:
            length = int(data[pos:sp])
        except ValueError:
            raise LayerError("corrupt PAX header") from None
        if length <= 0:
            break
        record = data[sp + 1 : pos + length - 1]
        k, _, v = record.partition(b"=")
        out[k.decode("utf-8", "replace")] = v.decode("utf-8", "replace")
        pos += length
    return out


TYPES = {b"0": "file", b"\0": "file", b"7": "file", b"5": "dir", b"2": "symlink", b"1": "hardlink"}


class TarStream:
    """Iterate members; call read_content() on the current member to get its bytes (capped)."""

    def __init__(self, src: Decompressor):
        self._src = src
        self._pending = 0  # bytes (with padding) of the current member not yet consumed

    def __iter__(self) -> Iterator[Member]:
        long_name = long_link = None
        pax: dict[str, str] = {}
        while True:
            if self._pending:
                self._src.skip(self._pending)
                self._pending = 0
            header = self._src.read(BLOCK)
            if len(header) == 0:
                return  # no end-of-archive blocks: tolerated, as tar does
            if len(header) < BLOCK:
                raise LayerError("layer ends in the middle of a tar header (truncated)")
            if header == b"\0" * BLOCK:
                return
            if not _checksum_ok(header):
                raise LayerError("not a tar archive (header checksum mismatch)")
            typeflag = header[156:157]
            size = _octal(header[124:136])
            padded = (size + BLOCK - 1) // BLOCK * BLOCK
            if typeflag in (b"L", b"K", b"x", b"g"):
                if size > MAX_META:
                    raise LayerError("oversized tar metadata header")
                data = self._src.read(padded)[:size]
                if len(data) < size:
                    raise LayerError("layer ends inside a tar metadata header (truncated)")
                if typeflag == b"L":
                    long_name = _field(data)
                elif typeflag == b"K":
                    long_link = _field(data)
                elif typeflag == b"x":
                    pax = _pax(data)
                continue
            name = long_name or pax.get("path") or _join_ustar(header)
            linkname = long_link or pax.get("linkpath") or _field(header[157:257])
            if "size" in pax:
                try:
                    size = int(pax["size"])
                except ValueError:
                    raise LayerError("corrupt PAX size") from None
                padded = (size + BLOCK - 1) // BLOCK * BLOCK
            long_name = long_link = None
            pax = {}
            kind = TYPES.get(typeflag, "other")
            if kind == "file" and name.endswith("/"):
                kind = "dir"
            self._pending = padded
            self._size = size
            yield Member(normalise(name), kind, linkname, size, _octal(header[100:108]) & 0o7777)

    def read_content(self, cap: int) -> bytes:
        """The current member's bytes; raises LayerError beyond `cap`."""
        if self._size > cap:
            raise LayerError(f"file is larger than the {cap}-byte cap")
        data = self._src.read(self._size)
        if len(data) < self._size:
            raise LayerError("layer ends in the middle of a file (truncated)")
        self._pending -= self._size
        return data


def _join_ustar(header: bytes) -> str:
    name = _field(header[0:100])
    if header[257:262] == b"ustar":
        prefix = _field(header[345:500])
        if prefix:
            return f"{prefix}/{name}"
    return name


def _checksum_ok(header: bytes) -> bool:
    try:
        stored = _octal(header[148:156])
    except LayerError:
        return False
    unsigned = sum(header[:148]) + 256 + sum(header[156:])
    return stored == unsigned
