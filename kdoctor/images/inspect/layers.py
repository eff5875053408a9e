"""Find one file in an image's merged filesystem by streaming its layers from the top down.

Whiteouts (`.wh.<name>`) and opaque directories (`.wh..wh..opq`) hide what is below them;
symlinks (absolute ones relative to the rootfs, relative ones to their directory) and hardlinks
are followed, including symlinked parent directories such as merged-/usr's `/bin -> usr/bin`.
The walk stops at the first layer that settles the answer, so the layers below are never fetched.
Reference algorithm: go-containerregistry's mutate.extract.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from kdoctor.images.inspect.tarstream import Decompressor, LayerError, TarStream

MAX_HOPS = 40
GZIP_TYPES = ("gzip",)


@dataclass(frozen=True)
class LayerRef:
    digest: str
    media_type: str
    size: int = 0

    @property
    def compression(self) -> str:
        mt = self.media_type
        if mt.endswith("+zstd") or mt.endswith(".zstd"):
            return "zstd"
        if mt.endswith("gzip") or mt.endswith("+gzip"):
            return "gzip"
        if mt.endswith(".tar") or mt.endswith("tar"):
            return "none"
        return "gzip"  # Docker schema2 layers without a suffix are gzip


@dataclass
class LayerIndex:
    entries: dict[str, tuple[str, str]] = field(default_factory=dict)  # path -> (type, linkname)
    whiteouts: set[str] = field(default_factory=set)
    opaque: set[str] = field(default_factory=set)
    captured: dict[str, bytes] = field(default_factory=dict)
    too_big: set[str] = field(default_factory=set)

    def add(self, path: str, kind: str, linkname: str) -> None:
        self.entries[path] = (kind, linkname)
        parent = posixpath.dirname(path)
        while parent and parent not in self.entries:
            self.entries[parent] = ("dir", "")
            parent = posixpath.dirname(parent)


DELETED = ("deleted", "")
UNKNOWN = ("unknown", "")


def lookup(path: str, layers: list[LayerIndex], complete: bool) -> tuple[tuple[str, str], int]:
    """The entry at `path` in the merged view of `layers` (top first), and the layer index holding it."""
    if path == "":
        return ("dir", ""), -1
    ancestors = []
    p = posixpath.dirname(path)
    while p:
        ancestors.append(p)
        p = posixpath.dirname(p)
    for i, layer in enumerate(layers):
        if path in layer.entries:
            return layer.entries[path], i
        if path in layer.whiteouts or any(a in layer.whiteouts for a in ancestors):
            return DELETED, i
        if any(a in layer.opaque for a in ancestors):
            return DELETED, i
    return (DELETED if complete else UNKNOWN), -1


@dataclass
class Resolution:
    status: str  # "file", "missing", "unknown", "loop", "not-a-file"
    path: str = ""
    layer: int = -1
    hops: int = 0


def resolve(path: str, layers: list[LayerIndex], complete: bool) -> Resolution:
    """Resolve an absolute path through symlinks and hardlinks in the merged view."""
    hops = 0
    parts = [p for p in path.split("/") if p not in ("", ".")]
    cur = ""
    while parts:
        comp = parts.pop(0)
        if comp == "..":
            cur = posixpath.dirname(cur)
            continue
        cand = f"{cur}/{comp}" if cur else comp
        (kind, link), idx = lookup(cand, layers, complete)
        if kind == "unknown":
            return Resolution("unknown", "/" + "/".join([cand, *parts]))
        if kind == "deleted":
            return Resolution("missing", "/" + cand)
        if kind in ("symlink", "hardlink"):
            hops += 1
            if hops > MAX_HOPS:
                return Resolution("loop", "/" + cand, hops=hops)
            if kind == "hardlink":
                target = link.lstrip("/")  # tar hardlink names are relative to the archive root
            else:
                target = link.lstrip("/") if link.startswith("/") else posixpath.join(posixpath.dirname(cand), link)
            parts = [p for p in target.split("/") if p not in ("", ".")] + parts
            cur = ""
            continue
        if parts and kind != "dir":
            return Resolution("missing", "/" + cand)
        if not parts:
            if kind == "file":
                return Resolution("file", "/" + cand, idx, hops)
            return Resolution("not-a-file", "/" + cand, idx, hops)
        cur = cand
    return Resolution("not-a-file", "/", -1, hops)


def optimistic_target(path: str, layers: list[LayerIndex]) -> str:
    """Where the file would be if everything not yet seen is a plain directory."""
    r = resolve(path, layers, complete=False)
    return r.path


@dataclass
class FileFound:
    path: str  # the real path after following links
    data: bytes
    layer_digest: str


Opener = Callable[[LayerRef], Iterator[bytes]]


@dataclass
class WalkStats:
    layers_opened: int = 0
    bytes_read: int = 0  # compressed
    bytes_decompressed: int = 0


def _index_layer(
    layer: LayerRef,
    opener: Opener,
    wanted: set[str],
    *,
    file_cap: int,
    max_bytes: int,
    stats: WalkStats,
    stop_when: Callable[[LayerIndex], bool] | None = None,
) -> LayerIndex:
    idx = LayerIndex()
    src = Decompressor(opener(layer), layer.compression, max_bytes=max_bytes, expect_digest=layer.digest)
    stats.layers_opened += 1
    tar = TarStream(src)
    finished = False
    try:
        for m in tar:
            base = posixpath.basename(m.name)
            parent = posixpath.dirname(m.name)
            if base == ".wh..wh..opq":
                idx.opaque.add(parent)
                continue
            if base.startswith(".wh."):
                idx.whiteouts.add(posixpath.join(parent, base[4:]) if parent else base[4:])
                continue
            if not m.name:
                continue
            idx.add(m.name, m.type, m.linkname)
            if m.type == "file" and m.name in wanted:
                if m.size > file_cap:
                    idx.too_big.add(m.name)
                else:
                    idx.captured[m.name] = tar.read_content(file_cap)
                    if stop_when is not None and stop_when(idx):
                        break
        else:
            finished = True
        if finished:
            src.drain()  # read to the end so the layer's digest is verified
    finally:
        stats.bytes_read += src.compressed
        stats.bytes_decompressed += src.produced
    return idx


class LayerWalk:
    """One top-down walk over an image's layers, shared by every file kdoctor reads from it.

    `find` resolves against the layers already indexed and opens the next layer only while the answer is
    undecided, so a second file (the interpreter of a script, /etc/os-release) costs only the layers the
    first walk did not reach. `also` names small files worth keeping when a layer streams past them anyway.
    """

    def __init__(
        self,
        layers: list[LayerRef],
        opener: Opener,
        *,
        file_cap: int = 256 << 20,
        layer_cap: int = 4 << 30,
        stats: WalkStats | None = None,
        also: tuple[str, ...] = (),
    ) -> None:
        self.top_down = list(reversed(layers))
        self.opener, self.file_cap, self.layer_cap = opener, file_cap, layer_cap
        self.stats = stats or WalkStats()
        self.also = {a.lstrip("/") for a in also}
        self.seen: list[LayerIndex] = []
        self.partial: set[int] = set()  # layers whose reading stopped early: their index lacks later entries

    def unread_bytes(self) -> int:
        """Compressed bytes (manifest sizes) a walk to the bottom would still fetch, re-reads included."""
        todo = [*range(len(self.seen), len(self.top_down)), *self.partial]
        return sum(self.top_down[i].size for i in todo)

    def _index(self, i: int, wanted: set[str], stop_when: Callable[[LayerIndex], bool] | None = None) -> LayerIndex:
        return _index_layer(
            self.top_down[i],
            self.opener,
            wanted | self.also,
            file_cap=self.file_cap,
            max_bytes=self.layer_cap,
            stats=self.stats,
            stop_when=stop_when,
        )

    def _complete_partial(self, candidates: list[str]) -> None:
        # A layer read only up to an earlier file may hold this one further on: read it whole (one layer).
        for i in sorted(self.partial):
            wanted = {optimistic_target(c, self.seen[:i]).lstrip("/") for c in candidates}
            self.seen[i] = self._index(i, wanted)
        self.partial.clear()

    def _decide(self, candidates: list[str]) -> tuple[FileFound | None, str] | None:
        complete = len(self.seen) == len(self.top_down)
        for c in candidates:
            r = resolve(c, self.seen, complete)
            if r.status == "unknown":
                return None
            if r.status == "loop":
                return None, f"{c}: more than {MAX_HOPS} symlink hops (a loop?)"
            if r.status == "file":
                holder = self.seen[r.layer]
                key = r.path.lstrip("/")
                if key in holder.too_big:
                    return None, f"{r.path} is larger than the {self.file_cap}-byte cap"
                if key not in holder.captured:
                    # The link target was streamed past before we knew we wanted it: read that layer again.
                    again = self._index(r.layer, {key})
                    if key not in again.captured:
                        return None, f"{r.path} could not be read from its layer"
                    holder.captured[key] = again.captured[key]
                return FileFound(r.path, holder.captured[key], self.top_down[r.layer].digest), ""
            if r.status == "not-a-file":
                return None, f"{r.path} is not a regular file"
            # missing: try the next PATH candidate
        return None, "not found in the image: " + ", ".join(candidates[:4])

    def find(self, candidates: list[str]) -> tuple[FileFound | None, str]:
        """The first of `candidates` (absolute paths, PATH order) that exists; (found, note)."""
        if self.partial:
            self._complete_partial(candidates)
        if self.seen:
            decided = self._decide(candidates)
            if decided is not None:
                return decided
        while len(self.seen) < len(self.top_down):
            i = len(self.seen)
            wanted = {optimistic_target(c, self.seen).lstrip("/") for c in candidates}
            stopped = False

            def settled(idx: LayerIndex, wanted: set[str] = wanted) -> bool:
                # Stop inside this layer once the first candidate resolves to a file we now hold.
                nonlocal stopped
                trial = [*self.seen, idx]
                for c in candidates:
                    r = resolve(c, trial, complete=False)
                    if r.status == "file" and r.path.lstrip("/") in idx.captured and r.layer == len(trial) - 1:
                        stopped = True
                        return True
                    if r.status != "missing":
                        return False
                return False

            self.seen.append(self._index(i, wanted, settled))
            if stopped:
                self.partial.add(i)
            decided = self._decide(candidates)
            if decided is not None:
                return decided
        return None, "not found in the image: " + ", ".join(candidates[:4])


def find_file(
    layers: list[LayerRef],
    candidates: list[str],
    opener: Opener,
    *,
    file_cap: int = 256 << 20,
    layer_cap: int = 4 << 30,
    stats: WalkStats | None = None,
) -> tuple[FileFound | None, str]:
    """Find the first of `candidates` (absolute paths, PATH order) that exists; (found, note)."""
    return LayerWalk(layers, opener, file_cap=file_cap, layer_cap=layer_cap, stats=stats).find(candidates)


__all__ = ["FileFound", "LayerError", "LayerRef", "LayerWalk", "WalkStats", "find_file", "resolve"]
