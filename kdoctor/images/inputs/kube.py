"""Images in Kubernetes objects: pod templates wherever they are, catalogued operator fields, image volumes.

A pod template is found by its shape, not by the kind that holds it, so Argo Rollouts, Knative, KEDA,
Tekton, Crossplane... are read like Deployments. Every use carries the path where it was found. Shared
(aliased) YAML subtrees are visited once: the walk costs what the text costs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

import yaml

from kdoctor.data import data_dir
from kdoctor.images.inputs.uses import ImageUse, Origin, Skipped
from kdoctor.images.inputs.yamlload import located

# Lists whose items are containers when they have an `image` (Tekton names them steps and sidecars).
CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers", "sidecars", "steps")
POD_CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")
SINGLE_CONTAINERS = ("container", "script")  # Argo Workflows templates
MAX_DEPTH = 200
BUILTIN_GROUPS = {"", "apps", "batch", "policy", "autoscaling"}
TEMPLATE_HINT = "an unrendered template expression ({{ … }}): render it first (helm template … | kdoctor images -f -)"


@dataclass(frozen=True)
class Field:
    group: str
    kinds: tuple[str, ...]
    path: tuple[str, ...]  # "[]" after a key: every item of that list
    source: str


@dataclass(frozen=True)
class Operators:
    """checks/image-fields.yaml: where operators name the images they start (each entry sourced there)."""

    fields: tuple[Field, ...]
    env: tuple[tuple[re.Pattern[str], str], ...]  # (variable name, "ref" | "version-map")
    args: tuple[re.Pattern[str], ...]  # flag names
    configmaps: tuple[tuple[re.Pattern[str], re.Pattern[str]], ...]  # (ConfigMap name, data key)
    patterns: tuple[tuple[str, tuple[str, ...], frozenset[str]], ...]  # (group, kinds, pattern subtrees)


@cache
def operators() -> Operators:
    raw = yaml.safe_load((data_dir("checks") / "image-fields.yaml").read_text(encoding="utf-8")) or {}
    return Operators(
        fields=tuple(
            Field(e["group"], tuple(e["kinds"]), tuple(e["path"].split(".")), e["source"]) for e in raw["fields"]
        ),
        env=tuple((re.compile(e["name"]), e.get("format", "ref")) for e in raw.get("env") or ()),
        args=tuple(re.compile(e["flag"]) for e in raw.get("args") or ()),
        configmaps=tuple((re.compile(e["name"]), re.compile(e["key"])) for e in raw.get("configmaps") or ()),
        patterns=tuple((e["group"], tuple(e["kinds"]), frozenset(e["keys"])) for e in raw.get("patterns") or ()),
    )


def image_fields() -> tuple[Field, ...]:
    return operators().fields


# What a value must look like to be read as an image reference where an operator's settings hold one (an env var
# or a flag): `registry/repo[:tag][@digest]`, with a repository path or a tag, no spaces, no URL scheme.
LOOKS_LIKE_REF = re.compile(
    r"^(?![a-z]+://)[a-z0-9][a-z0-9._-]*(:[0-9]+)?(/[a-z0-9._-]+)*(:[\w][\w.-]{0,127})?(@sha256:[a-f0-9]{64})?$"
)


def _ref_like(value: str) -> bool:
    v = value.strip()
    return bool(LOOKS_LIKE_REF.match(v)) and ("/" in v or ":" in v or "@" in v)


def _at(node: Any, path: tuple[str, ...], where: str = "") -> Iterator[tuple[str, str]]:
    """(path as written, value) of every string at `path`; `key[]` walks every item of that list."""
    if not path:
        if isinstance(node, str) and node.strip():
            yield where, node
        return
    key, rest = path[0], path[1:]
    each = key.endswith("[]")
    key = key.removesuffix("[]")
    child = node.get(key) if isinstance(node, dict) else None
    here = f"{where}.{key}" if where else key
    if each:
        for i, item in enumerate(child if isinstance(child, list) else []):
            yield from _at(item, rest, f"{here}[{i}]")
    else:
        yield from _at(child, rest, here)


def scalars(v: Any) -> list[str] | None:
    """A command/args list as strings; None unless every item is a scalar (a nested list is never stringified:
    that is how an alias bomb turned into gigabytes)."""
    if not isinstance(v, list) or not all(isinstance(x, str | int | float | bool) for x in v):
        return None
    return [x if isinstance(x, str) else str(x) for x in v]  # a YAML string keeps where it is written


def _group(doc: dict[str, Any]) -> str:
    api = doc.get("apiVersion")
    return api.rsplit("/", 1)[0] if isinstance(api, str) and "/" in api else ""


def _name(doc: dict[str, Any]) -> str:
    meta = doc.get("metadata")
    if isinstance(meta, dict):
        for key in ("name", "generateName"):
            if isinstance(meta.get(key), str):
                return str(meta[key])
    return "?"


class _Walk:
    def __init__(
        self, file: str, workload: str, skipped: list[Skipped], pattern_keys: frozenset[str] | None = None
    ) -> None:
        self.file, self.workload, self.skipped = file, workload, skipped
        self.seen: set[int] = set()
        self.uses: list[ImageUse] = []
        # In a policy engine's resource (checks/image-fields.yaml patterns): the subtrees of patterns walked past,
        # and `{{ … }}` values counted as the engine's variables, never as images or unrendered Helm.
        self.pattern_keys = pattern_keys
        self.policy_strings = 0

    def operator_settings(self, container: dict[str, Any], path: str) -> None:
        """Images an operator container names in its environment or flags (checks/image-fields.yaml env, args):
        the operator starts them later, so they are pulled as surely as its own."""
        ops = operators()
        env = container.get("env")
        for i, var in enumerate(env if isinstance(env, list) else []):
            name, value = (var.get("name"), var.get("value")) if isinstance(var, dict) else (None, None)
            if not isinstance(name, str) or not isinstance(value, str):
                continue
            for rx, fmt in ops.env:
                if rx.fullmatch(name):
                    for ref in _env_refs(value, fmt):
                        self.use(ref, f"{path}.env[{i}].value ({name})", None, at=value)
                    break
        argv = (scalars(container.get("command")) or []) + (scalars(container.get("args")) or [])
        for i, arg in enumerate(argv):
            flag, eq, value = arg.partition("=")
            if not eq:
                value = argv[i + 1] if i + 1 < len(argv) else ""
            if any(rx.fullmatch(flag) for rx in ops.args) and _ref_like(value):
                self.use(value.strip(), f"{path} args ({flag})", None, at=arg if eq else argv[i + 1])

    def use(self, image: str, path: str, container: dict[str, Any] | None, at: object = None) -> None:
        """`at`: the YAML scalar the image was read from, when `image` was cut out of it (an env value, a flag)."""
        name = container.get("name") if container else None
        ref = image.strip()
        file, line, column = located(at if at is not None else image, ref)
        if self.pattern_keys is not None and "{{" in ref:
            self.policy_strings += 1
            return
        self.uses.append(
            ImageUse(
                ref,
                scalars(container.get("command")) if container else None,
                scalars(container.get("args")) if container else None,
                origins=[
                    Origin(
                        self.file,
                        self.workload,
                        str(name) if name is not None else None,
                        path,
                        line,
                        column,
                        file if file and file != self.file else None,
                    )
                ],
                problem=TEMPLATE_HINT if "{{" in ref else None,
            )
        )

    def walk(self, node: Any, path: str, depth: int = 0) -> None:
        if not isinstance(node, dict | list) or id(node) in self.seen or depth > MAX_DEPTH:
            return
        self.seen.add(id(node))
        if isinstance(node, list):
            for i, item in enumerate(node):
                self.walk(item, f"{path}[{i}]", depth + 1)
            return
        for key, value in node.items():
            where = f"{path}.{key}" if path else str(key)
            if self.pattern_keys is not None and key in self.pattern_keys:
                self.policy_strings += _count_images(value)
                continue
            if key in CONTAINER_LISTS and isinstance(value, list):
                for i, item in enumerate(value):
                    if isinstance(item, dict) and isinstance(item.get("image"), str) and item["image"].strip():
                        self.use(item["image"], f"{where}[{i}].image", item)
                        self.operator_settings(item, f"{where}[{i}]")
                        self.seen.add(id(item))
                    elif isinstance(item, dict) and key in POD_CONTAINER_LISTS and "image" not in item:
                        self.skipped.append(
                            Skipped(
                                self.file,
                                f"{self.workload} {where}[{i}]",
                                "no-image",
                                f"container {item.get('name', '?')} has no image (its controller fills it in)",
                            )
                        )
            elif key in SINGLE_CONTAINERS and isinstance(value, dict) and isinstance(value.get("image"), str):
                self.use(value["image"], f"{where}.image", value)
                self.seen.add(id(value))
                continue
            elif key == "volumes" and isinstance(value, list):
                for i, vol in enumerate(value):
                    img = vol.get("image") if isinstance(vol, dict) else None
                    if isinstance(img, dict) and isinstance(img.get("reference"), str) and img["reference"].strip():
                        self.use(img["reference"], f"{where}[{i}].image.reference", None)
            self.walk(value, where, depth + 1)


def _count_images(node: Any, depth: int = 0) -> int:
    """How many `image` strings a subtree holds (the patterns a policy matches images against)."""
    if depth > MAX_DEPTH:
        return 0
    if isinstance(node, dict):
        own = 1 if isinstance(node.get("image"), str) else 0
        return own + sum(_count_images(v, depth + 1) for k, v in node.items() if k != "image")
    if isinstance(node, list):
        return sum(_count_images(v, depth + 1) for v in node)
    return 0


def kube_uses(doc: dict[str, Any], file: str, skipped: list[Skipped], prefix: str = "") -> Iterator[ImageUse]:
    """The image uses of one Kubernetes object (a `List` is read item by item)."""
    kind = str(doc.get("kind"))
    items = doc.get("items")
    if kind.endswith("List") and isinstance(items, list):
        for i, item in enumerate(items):
            if isinstance(item, dict) and isinstance(item.get("kind"), str):
                yield from kube_uses(item, file, skipped, f"{prefix}items[{i}] ")
        return
    workload = f"{prefix}{kind}/{_name(doc)}"
    group = _group(doc)
    ops = operators()
    pattern_keys = next((keys for g, kinds, keys in ops.patterns if g == group and kind in kinds), None)
    w = _Walk(file, workload, skipped, pattern_keys)
    for f in ops.fields:
        if f.group == group and kind in f.kinds:
            for path, value in _at(doc, f.path):
                w.use(value, path, None)
    if kind == "ConfigMap" and group == "" and isinstance(doc.get("data"), dict):
        for rx_name, rx_key in ops.configmaps:
            if rx_name.fullmatch(_name(doc)):
                for key, value in doc["data"].items():
                    if isinstance(value, str) and rx_key.fullmatch(str(key)) and _ref_like(value):
                        w.use(value.strip(), f"data.{key}", None)
    w.walk(doc, "")
    if pattern_keys is not None and w.policy_strings:
        skipped.append(
            Skipped(
                file,
                workload,
                "policy-patterns",
                f"{w.policy_strings} image pattern(s) or policy variable(s) ({{{{ … }}}}): matched at admission, "
                "not images to pull",
            )
        )
    if not w.uses and group not in BUILTIN_GROUPS and not group.endswith(".k8s.io") and pattern_keys is None:
        skipped.append(
            Skipped(
                file,
                workload,
                "no-pod-template",
                f"a {group} resource with no pod template and no catalogued image field (checks/image-fields.yaml)",
            )
        )
    yield from w.uses


def _env_refs(value: str, fmt: str) -> list[str]:
    """The references in an operator's image variable: one, or Strimzi's `version=ref` pairs."""
    if fmt == "version-map":
        pairs = [p for p in re.split(r"[\s,]+", value) if "=" in p]
        return [ref for _, _, ref in (p.partition("=") for p in pairs) if _ref_like(ref)]
    return [value.strip()] if _ref_like(value) else []
