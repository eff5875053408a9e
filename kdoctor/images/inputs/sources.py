"""Where image references come from: arguments, Kubernetes YAML, Docker Compose files, a live cluster.

Each input file is read on its own: whatever fails in one file becomes a per-file error in the report and
the other files are still read (`read_inputs`). Kubernetes objects are read by kube.py, Compose files by
compose.py, the bytes and the YAML by yamlload.py.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from kdoctor.errors import InputError
from kdoctor.images.inputs.compose import compose_uses
from kdoctor.images.inputs.dockerfile import dockerfile_uses, is_dockerfile
from kdoctor.images.inputs.kube import kube_uses
from kdoctor.images.inputs.uses import FileError, ImageUse, Skipped, SourceReport, SourceWarning
from kdoctor.images.inputs.yamlload import decode, load_documents
from kdoctor.runner import Runner
from kdoctor.tools.kubectl import NORMAL, kubectl_argv

YAML_SUFFIXES = {".yaml", ".yml", ".json"}
MAX_FILE = 64 << 20  # a manifest set larger than this is not a manifest set
_MANIFEST_WORDS = ("apiVersion", "kind:", '"kind"', "services:", '"services"')


def uses_from_object(
    doc: Any,
    where: str,
    *,
    path: Path | None = None,
    environ: Mapping[str, str] | None = None,
    env_files: list[Path] | None = None,
    report: SourceReport | None = None,
) -> Iterator[ImageUse]:
    """The uses of one parsed document: a Kubernetes object (or List), or a Compose file."""
    report = report if report is not None else SourceReport()
    if not isinstance(doc, dict):
        report.skipped.append(Skipped(where, "document", "not-a-manifest", "not a mapping"))
        return
    if isinstance(doc.get("kind"), str):
        yield from kube_uses(doc, where, report.skipped)
        return
    if isinstance(doc.get("services"), dict) or isinstance(doc.get("include"), list):
        sub = SourceReport()
        compose_uses(
            doc,
            path or Path(where),
            where,
            environ=os.environ if environ is None else environ,
            env_files=env_files,
            report=sub,
        )
        report.skipped += sub.skipped
        report.warnings += sub.warnings
        yield from sub.uses
        return
    report.skipped.append(
        Skipped(where, "document", "not-a-manifest", "no kind (Kubernetes) and no services (Compose)")
    )


def _files(path: Path) -> Iterator[Path]:
    if path.is_dir():
        for p in sorted(path.rglob("*")):
            if p.is_file() and (p.suffix.lower() in YAML_SUFFIXES or is_dockerfile(p.name)):
                yield p
    else:
        yield path


def _read_one(
    text: str,
    where: str,
    path: Path | None,
    environ: Mapping[str, str] | None,
    env_files: list[Path] | None,
    *,
    found_in_dir: bool,
) -> SourceReport:
    out = SourceReport()
    try:
        docs = load_documents(text, where)
    except InputError as exc:
        if found_in_dir and exc.hint is None and not any(w in text for w in _MANIFEST_WORDS):
            # A directory holds other files too (tsconfig.json, package.json): say so, do not fail the run.
            out.skipped.append(Skipped(where, "file", "not-a-manifest", f"not YAML or JSON: {exc.detail}"))
            return out
        out.errors.append(FileError(where, exc.detail, exc.line, exc.hint))
        return out
    for doc in docs:
        out.uses.extend(uses_from_object(doc, where, path=path, environ=environ, env_files=env_files, report=out))
    out.files.append(where)
    return out


def read_inputs(
    paths: Iterable[str],
    *,
    environ: Mapping[str, str] | None = None,
    env_files: list[str] | None = None,
    stdin: bytes | None = None,
    build_args: Mapping[str, str] | None = None,
) -> SourceReport:
    """Every input (`-` is stdin) read file by file; no exception leaves for one bad file. `build_args`: what
    `--build-arg K=V` gives the Dockerfiles."""
    report = SourceReport()
    env_paths = [Path(p) for p in env_files] if env_files else None
    for raw in paths:
        if raw == "-":
            data = stdin if stdin is not None else _stdin_bytes()
            try:
                text = decode(data, "<stdin>")
            except InputError as exc:
                report.errors.append(FileError("<stdin>", exc.detail))
                continue
            report.extend(_guarded(text, "<stdin>", Path.cwd() / "stdin", environ, env_paths, found_in_dir=False))
            continue
        root = Path(raw)
        if not root.exists():
            report.errors.append(FileError(raw, "no such file or directory"))
            continue
        for f in _files(root):
            try:
                if f.stat().st_size > MAX_FILE:
                    raise InputError(str(f), f"larger than {MAX_FILE >> 20} MiB: not read")
                text = decode(f.read_bytes(), str(f))
            except InputError as exc:
                report.errors.append(FileError(str(f), exc.detail))
                continue
            except OSError as exc:
                report.errors.append(FileError(str(f), f"cannot read: {exc.strerror or exc}"))
                continue
            if is_dockerfile(f.name):
                report.extend(_dockerfile(text, str(f), build_args))
                continue
            report.extend(_guarded(text, str(f), f, environ, env_paths, found_in_dir=f != root))
    return report


def _dockerfile(text: str, where: str, build_args: Mapping[str, str] | None) -> SourceReport:
    uses, skipped, warnings, plan = dockerfile_uses(text, where, build_args=build_args)
    return SourceReport(
        uses=uses,
        skipped=skipped,
        warnings=[SourceWarning(where, "FROM", w) for w in warnings],
        files=[where],
        builds=[plan],
    )


def _guarded(
    text: str,
    where: str,
    path: Path | None,
    environ: Mapping[str, str] | None,
    env_files: list[Path] | None,
    *,
    found_in_dir: bool,
) -> SourceReport:
    try:
        return _read_one(text, where, path, environ, env_files, found_in_dir=found_in_dir)
    except RecursionError:
        return SourceReport(errors=[FileError(where, "nested too deeply to read")])
    except MemoryError:
        return SourceReport(errors=[FileError(where, "too large to read in memory")])


def _stdin_bytes() -> bytes:
    """stdin as bytes, decoded later exactly like a file (a text read would mangle non-UTF-8 bytes)."""
    buf = getattr(sys.stdin, "buffer", None)
    if buf is not None:
        return bytes(buf.read())
    return sys.stdin.read().encode("utf-8", "surrogateescape")


def uses_from_files(paths: Iterable[str], stdin_text: str | None = None) -> list[ImageUse]:
    """The uses of the inputs; the first file error raises InputError (for callers that want all or nothing)."""
    report = read_inputs(paths, stdin=stdin_text.encode("utf-8") if stdin_text is not None else None)
    if report.errors:
        e = report.errors[0]
        err = InputError(e.file, e.message, line=e.line)
        err.hint = e.hint
        raise err
    return report.uses


def uses_from_cluster(
    runner: Runner, *, context: str | None, namespace: str | None, all_namespaces: bool, timeout: float = 20.0
) -> tuple[list[ImageUse], str | None]:
    """Workloads of a live cluster via kubectl (pods and their controllers' templates). (uses, error)."""
    scope = ["--all-namespaces"] if all_namespaces else (["-n", namespace] if namespace else [])
    kinds = "pods,deployments,statefulsets,daemonsets,jobs,cronjobs"
    argv = kubectl_argv("get", kinds, "-o", "json", *scope, context=context, request_timeout=min(NORMAL, timeout))
    res = runner.run(argv, timeout=timeout)
    if not res.ok:
        return [], res.why()
    try:
        doc = json.loads(res.stdout)
    except json.JSONDecodeError:
        return [], "kubectl printed output that is not JSON"
    where = f"context {context}" if context else "current context"
    return list(uses_from_object(doc, where)), None
