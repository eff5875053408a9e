"""From an image config to an Entrypoint: resolve the process, find its file, read ELF and Go info."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from kdoctor.images.inspect import entrypoint as ep_mod
from kdoctor.images.inspect.entrypoint import Entrypoint
from kdoctor.images.inspect.goinfo import BinaryError, elf_info, go_info
from kdoctor.images.inspect.identify import (
    OS_RELEASE_PATHS,
    ImageFacts,
    env_dict,
    isa_needed,
    parse_os_release,
    runtime_of,
)
from kdoctor.images.inspect.layers import FileFound, LayerRef, LayerWalk, WalkStats
from kdoctor.images.inspect.tarstream import LayerError
from kdoctor.images.registry import ANALYSES, Cache, Reference, RegistryClient, RegistryError

ANALYSIS_VERSION = 4  # 2: risk facts; 3: loader (PT_INTERP) fields; 4: keyed by manifest digest
# The most compressed layer bytes kdoctor fetches beyond the entrypoint's walk to read os-release (EL base
# layers are some 40-90 MB compressed).
OS_RELEASE_MAX_FETCH = 160 << 20


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
    ep.isa_needed = isa_needed(data)
    ep.interpreter = info.interpreter
    try:
        gi = go_info(data)
    except BinaryError as exc:
        ep.note = f"{found.path}: Go build info unreadable ({exc})"
        return
    if gi:
        ep.go_version, ep.go_module, ep.go_path = gi.version, gi.module, gi.path
        ep.goamd64, ep.cgo = gi.goamd64, gi.cgo


def image_facts(ep: Entrypoint | None, config: dict[str, Any], repository: str) -> ImageFacts:
    """What the risk rules match on: the entrypoint's findings plus the config's Env and Labels."""
    raw = config.get("config")
    c: dict[str, Any] = raw if isinstance(raw, dict) else {}
    labels: dict[str, Any] = c["Labels"] if isinstance(c.get("Labels"), dict) else {}
    _, _, env, _ = config_process(config)
    ep = ep or Entrypoint()
    return ImageFacts(
        os_release=ep.os_release,
        os_release_path=ep.os_release_path,
        os_release_note=ep.os_release_note,
        isa_needed=ep.isa_needed,
        runtime=ep.runtime,
        env=env_dict(env),
        labels={str(k): str(v) for k, v in labels.items()},
        repository=repository,
        argv=list(ep.argv),
    )


def _read_os_release(walk: LayerWalk, ep: Entrypoint) -> None:
    cost = walk.unread_bytes()
    if cost > OS_RELEASE_MAX_FETCH:
        # os-release usually sits in the base (bottom) layer; past this size the risk rules on it stay unapplied.
        ep.os_release_note = (
            f"not read: it would fetch {cost >> 20} MB more of layers (limit {OS_RELEASE_MAX_FETCH >> 20} MB)"
        )
        return
    opened = walk.stats.layers_opened
    found, why = walk.find(list(OS_RELEASE_PATHS))
    if found is None:
        ep.os_release_note = why
        return
    ep.os_release, ep.os_release_path = parse_os_release(found.data), found.path
    extra = walk.stats.layers_opened - opened
    ep.os_release_note = f"read from {found.path}" + (f" ({extra} more layer(s) opened for it)" if extra else "")


def entrypoint_for(
    client: RegistryClient,
    ref: Reference,
    digest: str,
    *,
    command: list[str] | None,
    args: list[str] | None,
    cache: Cache,
    loaded: tuple[dict[str, Any], dict[str, Any]] | None = None,
    stats: WalkStats | None = None,
    wants_os_release: Callable[[dict[str, Any]], Callable[[Entrypoint], bool]] | None = None,
    check_interpreter: bool = False,
) -> Entrypoint:
    """The entrypoint of the image manifest `digest`, from the analyses notes or analysed now (and noted).

    A manifest digest fixes the config (entrypoint, cmd, env) and the layers, so the analysis is keyed by it
    with what else decides it (the workload's command and args, whether os-release is wanted, --deep): a warm
    run reads neither the manifest nor its config again. `loaded` is the (manifest, config) pair where the
    caller has them already; `wants_os_release` gets the config and returns the question to ask."""
    spec = [ANALYSIS_VERSION, digest, command, args, wants_os_release is not None, check_interpreter]
    # Only a sha256 digest names its content: anything else is analysed every time, never noted.
    key = hashlib.sha256(json.dumps(spec).encode()).hexdigest() if digest.startswith("sha256:") else None
    hit = cache.get_note(ANALYSES, key) if key is not None else None
    if hit is not None:
        try:
            return Entrypoint(**hit)
        except TypeError:
            pass  # written by another version of the fields: analyse again
    if loaded is None:
        manifest = client.child(ref, digest).data
        loaded = manifest, client.image_config(ref, manifest)
    manifest, config = loaded
    ep = analyse_entrypoint(
        client,
        ref,
        manifest,
        config,
        command=command,
        args=args,
        stats=stats,
        wants_os_release=wants_os_release(config) if wants_os_release is not None else None,
        check_interpreter=check_interpreter,
    )
    if key is not None and ep.kind != "unreadable":  # unreadable layers are a transient failure
        cache.put_note(ANALYSES, key, ep.__dict__)
    return ep


def analyse_entrypoint(
    client: RegistryClient,
    ref: Reference,
    manifest: dict[str, Any],
    config: dict[str, Any],
    *,
    command: list[str] | None,
    args: list[str] | None,
    stats: WalkStats | None = None,
    wants_os_release: Callable[[Entrypoint], bool] | None = None,
    check_interpreter: bool = False,
) -> Entrypoint:
    """The entrypoint's facts; with `wants_os_release` (asked once the entrypoint is known) also the image's
    os-release, read from the layers the walk has reached and, only if needed, the ones below."""
    entry, cmd, env, workdir = config_process(config)
    argv = ep_mod.effective_argv(entry, cmd, command, args)
    ep = Entrypoint(argv=argv)
    proc = ep_mod.unwrap(argv)
    ep.runtime = runtime_of(proc.program)
    if proc.program is None:
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
    walk = LayerWalk(layers, opener, stats=stats, also=OS_RELEASE_PATHS)
    try:
        for _hop in range(3 if proc.note is None else 0):  # the program, a script's interpreter, `env`'s target
            found, why = walk.find(ep_mod.candidates(program, env, workdir))
            if found is None:
                ep.kind, ep.note = ("loop" if "symlink hops" in why else "missing"), why
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
            ep.runtime = runtime_of(interp) or ep.runtime
        if proc.note is not None:
            ep.kind, ep.note = "indeterminate", proc.note
        if wants_os_release is not None and wants_os_release(ep):
            _read_os_release(walk, ep)
        if check_interpreter and ep.kind == "elf" and ep.interpreter:
            # The loader usually sits in the base layer: reaching it is the costly part of --deep, paid only
            # for dynamic entrypoints (the walk reuses the layers it has already read).
            loader, _why = walk.find(ep_mod.candidates(ep.interpreter, [], None))
            ep.interpreter_found = loader is not None
    except (RegistryError, LayerError) as exc:
        ep.kind, ep.note = "unreadable", f"its layers could not be read: {getattr(exc, 'reason', exc)}"
    return ep
