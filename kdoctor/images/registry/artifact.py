"""Verdict files through the team's own registry (issue 24): pushed as an OCI artifact and pulled back.

The artifact follows the OCI image-manifest 1.1 guidance for artifacts
(https://github.com/opencontainers/image-spec/blob/v1.1.0/manifest.md#guidelines-for-artifact-usage): an image
manifest whose `artifactType` is `application/vnd.kdoctor.verdicts.v1+json`, the empty config descriptor
(`application/vnd.oci.empty.v1+json`, the two bytes `{}`), one layer holding the verdict file, and annotations with
the kdoctor version and the time. It is pushed with the credentials kdoctor already reads (a token that grants
push), with the registry API's monolithic blob upload (POST, then PUT with the digest) and a manifest PUT
(https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md#push). Pulling it is a manifest GET (or
a HEAD when the cache holds the digest) and one blob GET, cached by digest.
"""

from __future__ import annotations

import hashlib
import json
import time
from urllib.parse import urljoin

from kdoctor.errors import RegistryError
from kdoctor.images.registry.client import RegistryClient
from kdoctor.images.registry.negotiate import PUSHING
from kdoctor.images.registry.reference import Reference
from kdoctor.images.registry.verdicts import MAX_FILE

ARTIFACT_TYPE = "application/vnd.kdoctor.verdicts.v1+json"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"
EMPTY = {"mediaType": "application/vnd.oci.empty.v1+json", "size": 2,
         "digest": "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"}  # fmt: skip


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _put_blob(client: RegistryClient, ref: Reference, data: bytes) -> None:
    digest = _digest(data)
    try:
        with client._request("HEAD", ref, f"blobs/{digest}", "blob"):
            return  # already there (the empty config usually is)
    except RegistryError as exc:
        if exc.status not in (404, None):
            raise
    with client._request("POST", ref, "blobs/uploads/", "upload") as resp:
        location = resp.headers.get("location")
    if not location:
        raise RegistryError(f"{ref.registry} started an upload without a Location")
    url = urljoin(client._base(ref) + "/", location)
    url += ("&" if "?" in url else "?") + f"digest={digest}"
    headers = {"Content-Type": "application/octet-stream"}
    with client._request("PUT", ref, "", "upload", headers=headers, content=data, url=url):
        pass


def push(client: RegistryClient, ref: Reference, data: bytes, version: str) -> str:
    """Push `data` (a verdict file) as the artifact `ref` names; the manifest's digest."""
    token = PUSHING.set(True)
    try:
        _put_blob(client, ref, b"{}")
        _put_blob(client, ref, data)
        manifest = {
            "schemaVersion": 2,
            "mediaType": MANIFEST,
            "artifactType": ARTIFACT_TYPE,
            "config": EMPTY,
            "layers": [
                {
                    "mediaType": ARTIFACT_TYPE,
                    "digest": _digest(data),
                    "size": len(data),
                    "annotations": {"org.opencontainers.image.title": "kdoctor-verdicts.json"},
                }
            ],
            "annotations": {
                "org.opencontainers.image.created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "dev.kdoctor.version": version,
            },
        }
        body = json.dumps(manifest, separators=(",", ":")).encode()
        with client._request("PUT", ref, f"manifests/{ref.ref}", "manifest push",
                             headers={"Content-Type": MANIFEST}, content=body):  # fmt: skip
            pass
        return _digest(body)
    finally:
        PUSHING.reset(token)


def pull(client: RegistryClient, ref: Reference) -> bytes:
    """The verdict file the artifact holds (the manifest by HEAD when cached, the layer cached by digest)."""
    doc = client.manifest(ref).data
    if doc.get("artifactType") != ARTIFACT_TYPE or not doc.get("layers"):
        raise RegistryError(f"{ref} is not a kdoctor verdict artifact (artifactType {doc.get('artifactType')!r})")
    layer = doc["layers"][0]
    return client.blob(ref, str(layer["digest"]), cap=MAX_FILE)
