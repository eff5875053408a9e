"""A forward-only tar reader over a decompressing stream: no seeks, no disk, bounded memory.

Handles ustar (with prefix), GNU long names/links and PAX path/linkpath/size. Names are returned
normalised (no leading "/" or "./"); nothing is ever written to disk, so hostile names are inert.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any, cast

from kdoctor.errors import KdoctorError

BLOCK = 512
MAX_META = 1 << 20  # longest GNU/PAX header kdoctor will read
# Real layers compress a few times over; gzip tops out near 1000:1 on zeros. Past this floor, a stream
# that expands more than this ratio is treated as a bomb rather than decompressed for minutes.
BOMB_FLOOR = 256 << 20
BOMB_RATIO = 200


class LayerError(KdoctorError):
    """A layer that cannot be read: truncated, not a tar, over a size cap, or a digest mismatch."""


class _Raw:
    """A file-like view of the compressed chunks that hashes and counts what is consumed."""

    def __init__(self, chunks: Iterator[bytes], hasher: Any):
        self._chunks = chunks
        self._buf = b""
        self.eof = False
        self.count = 0
        self._hash = hasher

    def read(self, n: int) -> bytes:
        while not self.eof and len(self._buf) < n:
            try:
                chunk = next(self._chunks)
            except StopIteration:
                self.eof = True
                break
            self.count += len(chunk)
            if self._hash is not None:
                self._hash.update(chunk)
            self._buf += chunk
        out, self._buf = self._buf[:n], self._buf[n:]
        return out


OUT_STEP = 1 << 20  # decompressed bytes produced per step: memory stays flat whatever the ratio
IN_STEP = 64 << 10


class Decompressor:
    """Pull compressed chunks, hash them, and hand out decompressed bytes, capping size and ratio."""

    def __init__(self, chunks: Iterator[bytes], compression: str, *, max_bytes: int, expect_digest: str | None = None):
        self._buf = bytearray()
        self._pos = 0
        self._eof = False
        self._max = max_bytes
        self.produced = 0
        self._expect = expect_digest
        self._kind = compression
        hasher = hashlib.sha256() if expect_digest and expect_digest.startswith("sha256:") else None
        self._raw = _Raw(chunks, hasher)
        self._hasher = hasher
        self._zlib: Any = zlib.decompressobj(wbits=47) if compression == "gzip" else None  # gzip or zlib header
        self._zstd: Any = None
        if compression == "zstd":
            import zstandard

            # zstandard only calls read(n) on its source, which _Raw provides.
            source = cast(IO[bytes], self._raw)
            self._zstd = zstandard.ZstdDecompressor().stream_reader(source, read_size=IN_STEP)

    @property
    def compressed(self) -> int:
        return self._raw.count

    def _step(self) -> bytes | None:
        """The next piece of decompressed output (at most OUT_STEP), or None at the end."""
        try:
            if self._kind == "gzip":
                d = self._zlib
                if d.unconsumed_tail:
                    return d.decompress(d.unconsumed_tail, OUT_STEP)
                if d.eof and d.unused_data:  # concatenated gzip members
                    rest = d.unused_data
                    self._zlib = d = zlib.decompressobj(wbits=47)
                    return d.decompress(rest, OUT_STEP)
                data = self._raw.read(IN_STEP)
                if not data:
                    return None
                return d.decompress(data, OUT_STEP)
            if self._kind == "zstd":
                data = self._zstd.read(OUT_STEP)
                return data or None
            data = self._raw.read(OUT_STEP)
            return data or None
        except zlib.error as exc:
            raise LayerError(f"corrupt gzip stream: {exc}") from None
        except KdoctorError:
            raise
        except Exception as exc:  # zstandard.ZstdError and friends
            raise LayerError(f"corrupt {self._kind} stream: {exc}") from None

    def _fill(self, need: int) -> None:
        while len(self._buf) - self._pos < need and not self._eof:
            out = self._step()
            if out is None:
                self._eof = True
                self._verify()
                break
            self.produced += len(out)
            if self.produced > self._max:
                raise LayerError(f"layer decompresses to more than {self._max} bytes (a decompression bomb?)")
            if self.produced > BOMB_FLOOR and self.produced > BOMB_RATIO * max(1, self.compressed):
                raise LayerError(
                    f"layer expands more than {BOMB_RATIO}:1 past {BOMB_FLOOR >> 20} MiB (a decompression bomb?)"
                )
            if self._pos:
                del self._buf[: self._pos]
                self._pos = 0
            self._buf += out

    def _verify(self) -> None:
        if self._hasher is not None and self._expect and f"sha256:{self._hasher.hexdigest()}" != self._expect:
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
