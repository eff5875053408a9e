"""OpenAPI v3 documents for the recorded API server (generated, not recorded: see fixtures/SOURCES.md).

kubectl needs them for `apply` (its default --validate=strict asks the v3 document whether PATCH takes the
`fieldValidation` parameter; without v3 and v2 documents it stops with "failed to download openapi") and, for an
object that exists already, to compute the strategic merge patch. The shapes follow the kubernetes repository's
api/openapi-spec/v3 documents: one path item per object with a `patch` operation tagged with
x-kubernetes-group-version-kind, inline query parameters, request bodies keyed by patch content type, and schemas in
components keyed io.k8s.api...; only ConfigMap (and the ObjectMeta it references) has a schema here.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

Obj = dict[str, Any]

PATCH_TYPES = (
    "application/apply-patch+yaml",
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
)
META = "io.k8s.apimachinery.pkg.apis.meta.v1"


def _param(name: str, desc: str, typ: str = "string", where: str = "query") -> Obj:
    return {"description": desc, "in": where, "name": name, "schema": {"type": typ, "uniqueItems": True}}


PATCH_PARAMS = [
    _param("dryRun", "When present, indicates that modifications should not be persisted."),
    _param("fieldManager", "fieldManager is a name associated with the actor or entity that is making these changes."),
    _param(
        "fieldValidation",
        "fieldValidation instructs the server on how to handle objects in the request (POST/PUT/PATCH) containing "
        "unknown or duplicate fields. Valid values are: - Ignore - Warn - Strict",
    ),
    _param("force", 'Force is going to "force" Apply requests.', "boolean"),
]


def _schemas() -> Obj:
    string_map = {"additionalProperties": {"default": "", "type": "string"}, "type": "object"}
    return {
        "io.k8s.api.core.v1.ConfigMap": {
            "description": "ConfigMap holds configuration data for pods to consume.",
            "properties": {
                "apiVersion": {"type": "string"},
                "binaryData": {"additionalProperties": {"format": "byte", "type": "string"}, "type": "object"},
                "data": string_map,
                "immutable": {"type": "boolean"},
                "kind": {"type": "string"},
                "metadata": {"allOf": [{"$ref": f"#/components/schemas/{META}.ObjectMeta"}], "default": {}},
            },
            "type": "object",
            "x-kubernetes-group-version-kind": [{"group": "", "kind": "ConfigMap", "version": "v1"}],
        },
        f"{META}.ObjectMeta": {
            "properties": {
                "annotations": string_map,
                "creationTimestamp": {"allOf": [{"$ref": f"#/components/schemas/{META}.Time"}]},
                "finalizers": {
                    "items": {"default": "", "type": "string"},
                    "type": "array",
                    "x-kubernetes-list-type": "set",
                    "x-kubernetes-patch-strategy": "merge",
                },
                "generateName": {"type": "string"},
                "generation": {"format": "int64", "type": "integer"},
                "labels": string_map,
                "name": {"type": "string"},
                "namespace": {"type": "string"},
                "resourceVersion": {"type": "string"},
                "uid": {"type": "string"},
            },
            "type": "object",
        },
        f"{META}.Time": {"format": "date-time", "type": "string"},
    }


def document(group_version: str, resources: list[tuple[str, str, bool]]) -> Obj:
    """The v3 document of one group/version; resources are (plural, kind, namespaced)."""
    group, _, version = group_version.rpartition("/")
    prefix = f"/apis/{group_version}" if group else f"/api/{version}"
    op_group = "".join(p.capitalize() for p in (group or "core").split("."))
    paths: Obj = {}
    schemas = _schemas() if group_version == "v1" else {}
    for plural, kind, namespaced in resources:
        path = f"{prefix}/namespaces/{{namespace}}/{plural}/{{name}}" if namespaced else f"{prefix}/{plural}/{{name}}"
        has_schema = any(
            gvk == {"group": group, "kind": kind, "version": version}
            for s in schemas.values()
            for gvk in s.get("x-kubernetes-group-version-kind", [])
        )
        content = {t: {"schema": {"$ref": f"#/components/schemas/{META}.Patch"}} for t in PATCH_TYPES}
        if not has_schema:
            content.pop("application/strategic-merge-patch+json")
        where = "Namespaced" if namespaced else ""
        params = [_param("name", f"name of the {kind}", where="path")]
        if namespaced:
            params.append(
                _param("namespace", "object name and auth scope, such as for teams and projects", where="path")
            )
        params.append(_param("pretty", "If 'true', then the output is pretty printed."))
        paths[path] = {
            "parameters": params,
            "patch": {
                "description": f"partially update the specified {kind}",
                "operationId": f"patch{op_group}{version.capitalize()}{where}{kind}",
                "parameters": PATCH_PARAMS,
                "requestBody": {"content": content, "required": True},
                "responses": {"200": {"description": "OK"}, "201": {"description": "Created"}},
                "tags": [f"{group or 'core'}_{version}"],
                "x-kubernetes-action": "patch",
                "x-kubernetes-group-version-kind": {"group": group, "kind": kind, "version": version},
            },
        }
    schemas[f"{META}.Patch"] = {
        "description": "Patch is provided to give a concrete name and type to the Kubernetes PATCH request body.",
        "type": "object",
    }
    return {
        "components": {"schemas": schemas},
        "info": {"title": "Kubernetes", "version": "unversioned"},
        "openapi": "3.0.0",
        "paths": paths,
    }


def root(documents: dict[str, Obj]) -> Obj:
    """/openapi/v3: where each group/version's document is, with the hash kubectl caches it by."""
    return {
        "paths": {
            ("api/v1" if gv == "v1" else f"apis/{gv}"): {
                "serverRelativeURL": f"/openapi/v3/{'api/v1' if gv == 'v1' else 'apis/' + gv}?hash={digest(doc)}"
            }
            for gv, doc in documents.items()
        }
    }


def digest(doc: Obj) -> str:
    return hashlib.sha512(json.dumps(doc, sort_keys=True).encode()).hexdigest().upper()[:128]
