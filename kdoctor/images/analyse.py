"""From an image config to an Entrypoint: resolve the process, find its file, read ELF and Go info."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from kdoctor.images import entrypoint as ep_mod
from kdoctor.images.cache import Cache
from kdoctor.images.goinfo import BinaryError, elf_info, go_info
from kdoctor.images.layers import FileFound, LayerRef, WalkStats, find_file
from kdoctor.images.reference import Reference
from kdoctor.images.registry import RegistryClient, RegistryError
from kdoctor.images.tarstream import LayerError
from kdoctor.images.verdict import Entrypoint

ANALYSIS_VERSION = 2  # 2: interpreter fields


def config_process(config: dict[str, Any]) -> tuple[list[str] | None, list[str] | None, list[str], str | None]:
    c = config.get("config") or {}
    if not isinstance(c, dict):
        c = {}

    def strs(v: Any) -> list[str] | None:
        return [str(x) for x in v] if isinstance(v, list) else None

    return strs(c.get("Entrypoint")), strs(c.get("Cmd")), strs(c.get("Env")) or [], c.get("WorkingDir") or None


def _read_binary(found: FileFound, ep: Entrypoint) -> None:
    data = found.data
    ep.path = found.path
    if data.startswith(b"#!"):
        ep.kind = "script"
        return
    try:
        info = elf_info(data)
    except BinaryError as exc:
        ep.kind = "indeterminate"
        ep.note = f"{found.path}: {exc}"
        return
    ep.kind, ep.machine, ep.static = "elf", info.machine, info.static
    ep.interpreter = info.interpreter
    try:
        gi = go_info(data)
    except BinaryError as exc:
        ep.note = f"{found.path}: Go build info unreadable ({exc})"
        return
    if gi:
        ep.go_version, ep.go_module, ep.go_path = gi.version, gi.module, gi.path
        ep.goamd64, ep.cgo = gi.goamd64, gi.cgo


def analyse_entrypoint(
    client: RegistryClient,
    ref: Reference,
    manifest: dict[str, Any],
    config: dict[str, Any],
    *,
    command: list[str] | None,
    args: list[str] | None,
    cache: Cache,
    stats: WalkStats | None = None,
    check_interpreter: bool = False,
) -> Entrypoint:
    entry, cmd, env, workdir = config_process(config)
    argv = ep_mod.effective_argv(entry, cmd, command, args)
    ep = Entrypoint(argv=argv)
    cfg_desc = manifest.get("config")
    config_digest = str(cfg_desc.get("digest", "")) if isinstance(cfg_desc, dict) else ""
    key = hashlib.sha256(json.dumps([ANALYSIS_VERSION, config_digest, argv, check_interpreter]).encode()).hexdigest()
    if config_digest:
        hit = cache.get_json("analysis", key)
        if hit and isinstance(hit.get("entrypoint"), dict):
            try:
                return Entrypoint(**hit["entrypoint"])
            except TypeError:
                pass
    proc = ep_mod.unwrap(argv)
    if proc.program is None or proc.note:
        ep.kind, ep.note = "indeterminate", proc.note
        return ep
    listed = manifest.get("layers")
    layers = [
        LayerRef(str(layer.get("digest")), str(layer.get("mediaType", "")), int(layer.get("size") or 0))
        for layer in (listed if isinstance(listed, list) else [])
        if isinstance(layer, dict) and isinstance(layer.get("digest"), str)
    ]
    layers = [
        layer for layer in layers if "nondistributable" not in layer.media_type and "foreign" not in layer.media_type
    ]

    def opener(layer: LayerRef):  # type: ignore[no-untyped-def]
        with client.blob_stream(ref, layer.digest) as chunks:
            yield from chunks

    program = proc.program
    try:
        for _hop in range(3):  # the program, then a script's interpreter (and `env`'s target)
            found, why = find_file(layers, ep_mod.candidates(program, env, workdir), opener, stats=stats)
            if found is None:
                ep.kind, ep.note = "missing", why
                break
            _read_binary(found, ep)
            if ep.kind != "script":
                break
            line = found.data.split(b"\n", 1)[0][2:].decode("utf-8", "replace").strip().split()
            if not line:
                ep.kind, ep.note = "indeterminate", f"{found.path} has an empty #! line"
                break
            interp = line[0]
            if interp.rsplit("/", 1)[-1] == "env" and len(line) > 1:
                interp = line[1]
            ep.note = f"{found.path} is a script run by {interp}"
            program = interp
        if check_interpreter and ep.kind == "elf" and ep.interpreter:
            # A second top-down walk (early stop): the loader usually sits in the base layer, so this is the
            # costly part of --deep, paid only for dynamic entrypoints.
            loader, _why = find_file(layers, ep_mod.candidates(ep.interpreter, [], None), opener, stats=stats)
            ep.interpreter_found = loader is not None
    except (RegistryError, LayerError) as exc:
        ep.kind, ep.note = "unreadable", f"its layers could not be read: {getattr(exc, 'reason', exc)}"
        return ep  # not cached: a transient failure
    if config_digest:
        cache.put_json("analysis", key, {"entrypoint": ep.__dict__})
    return ep
