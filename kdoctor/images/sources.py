"""Where image references come from: arguments, Kubernetes YAML, Docker Compose files, a live cluster."""

from __future__ import annotations

import json
import shlex
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import yaml

from kdoctor.errors import InputError
from kdoctor.images.uses import ImageUse
from kdoctor.runner import Runner
from kdoctor.tools.kubectl import NORMAL, kubectl_argv

POD_SPEC_PATHS = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "ReplicationController": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
    "PodTemplate": ("template", "spec"),
}
CONTAINER_KEYS = ("initContainers", "containers", "ephemeralContainers")
YAML_SUFFIXES = {".yaml", ".yml", ".json"}


def _dig(doc: dict[str, Any], path: tuple[str, ...]) -> Any:
    cur: Any = doc
    for key in path:
        if not isinstance(cur, dict):
            return None
        cur = cur.get(key)
    return cur


def _strs(v: Any) -> list[str] | None:
    return [str(x) for x in v] if isinstance(v, list) else None


def uses_from_object(doc: Any, where: str) -> Iterator[ImageUse]:
    if not isinstance(doc, dict):
        return
    kind = doc.get("kind")
    if kind == "List" or (isinstance(kind, str) and kind.endswith("List") and isinstance(doc.get("items"), list)):
        for item in doc.get("items") or []:
            yield from uses_from_object(item, where)
        return
    if kind in POD_SPEC_PATHS:
        spec = _dig(doc, POD_SPEC_PATHS[kind])
        name = (doc.get("metadata") or {}).get("name", "?") if isinstance(doc.get("metadata"), dict) else "?"
        if not isinstance(spec, dict):
            return
        for key in CONTAINER_KEYS:
            for c in spec.get(key) or []:
                if isinstance(c, dict) and isinstance(c.get("image"), str) and c["image"].strip():
                    yield ImageUse(
                        c["image"].strip(),
                        _strs(c.get("command")),
                        _strs(c.get("args")),
                        sources=[f"{where}: {kind}/{name} {key[:-1]} {c.get('name', '?')}"],
                    )
        return
    services = doc.get("services")
    if isinstance(services, dict) and kind is None:  # Docker Compose
        for svc, body in services.items():
            if not isinstance(body, dict) or not isinstance(body.get("image"), str):
                continue
            command = body.get("command")
            entry = body.get("entrypoint")
            yield ImageUse(
                body["image"].strip(),
                command=(
                    _strs(entry)
                    if isinstance(entry, list)
                    else (shlex.split(entry) if isinstance(entry, str) else None)
                ),
                args=(
                    _strs(command)
                    if isinstance(command, list)
                    else (shlex.split(command) if isinstance(command, str) else None)
                ),
                platform=str(body["platform"]) if body.get("platform") else None,
                sources=[f"{where}: service {svc}"],
            )


# libyaml's parser when PyYAML was built with it: the pure-Python one dominates large manifest sets.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _load_all(text: str, where: str) -> list[Any]:
    if text.lstrip()[:1] in ("{", "["):  # `kubectl get -o json` output and other JSON: parse it as JSON
        try:
            doc = json.loads(text)
            return [doc] if doc is not None else []
        except json.JSONDecodeError:
            pass
    try:
        return [d for d in yaml.load_all(text, Loader=_Loader) if d is not None]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise InputError(where, f"invalid YAML: {getattr(exc, 'problem', None) or exc}", line=line) from None


def _files(path: Path) -> Iterator[Path]:
    if path.is_dir():
        for p in sorted(path.rglob("*")):
            if p.is_file() and p.suffix.lower() in YAML_SUFFIXES:
                yield p
    else:
        yield path


def uses_from_files(paths: Iterable[str], stdin_text: str | None = None) -> list[ImageUse]:
    out: list[ImageUse] = []
    for raw in paths:
        if raw == "-":
            text = stdin_text if stdin_text is not None else sys.stdin.read()
            for doc in _load_all(text, "<stdin>"):
                out.extend(uses_from_object(doc, "<stdin>"))
            continue
        root = Path(raw)
        if not root.exists():
            raise InputError(raw, "no such file or directory")
        for f in _files(root):
            try:
                text = f.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise InputError(str(f), f"cannot read: {getattr(exc, 'strerror', None) or exc}") from None
            for doc in _load_all(text, str(f)):
                out.extend(uses_from_object(doc, str(f)))
    return out


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
