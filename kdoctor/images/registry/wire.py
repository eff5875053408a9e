"""The registry's wire formats: manifests as bytes and JSON, digests, and error answers as short reasons."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from typing import Any

import httpx

from kdoctor.errors import RegistryError
from kdoctor.platforms import INDEX_TYPES, MANIFEST_TYPES


@dataclass
class Manifest:
    digest: str
    media_type: str
    raw: bytes
    data: dict[str, Any]

    @property
    def is_index(self) -> bool:
        return self.media_type in INDEX_TYPES


def digest_of(data: bytes) -> str:
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


def _first_bytes(resp: httpx.Response, n: int) -> bytes:
    """Up to n bytes of a body, without reading the rest: an error page may be megabytes of HTML, or trickle."""
    buf = bytearray()
    try:
        for chunk in resp.iter_bytes():
            buf += chunk
            if len(buf) >= n:
                break
    except (httpx.HTTPError, RuntimeError):  # broken, or already consumed: what arrived is all there is
        pass
    return bytes(buf[:n])


def status_error(resp: httpx.Response, registry: str) -> RegistryError:
    """A short, secret-free error for a registry's 4xx/5xx answer (reads at most 4 KiB of its body)."""
    code = resp.status_code
    detail = ""
    try:
        body = _first_bytes(resp, 4096)
        errors = json.loads(body).get("errors") or []
        if errors and isinstance(errors[0], dict):
            detail = str(errors[0].get("code", ""))
    except Exception:  # any body at all: the status code is the message
        detail = ""
    if code == 401:
        return RegistryError("401 unauthorized: credentials missing or refused", status=code)
    if code == 403:
        return RegistryError("403 forbidden", status=code)
    if code == 404:
        what = "manifest unknown" if detail in ("MANIFEST_UNKNOWN", "") else detail.lower().replace("_", " ")
        return RegistryError(f"404 not found ({what})", status=code)
    if code == 429:
        return RegistryError(f"429 rate limited by {registry}", status=code)
    return RegistryError(f"{code} from {registry}" + (f" ({detail})" if detail else ""), status=code)


def parse_manifest(raw: bytes, digest: str, content_type: str) -> Manifest:
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise RegistryError("the manifest is not valid JSON") from None
    if not isinstance(data, dict):
        raise RegistryError("the manifest is not a JSON object")
    mt = str(data.get("mediaType") or content_type.split(";")[0].strip())
    if mt not in INDEX_TYPES | MANIFEST_TYPES:
        if "manifests" in data:
            mt = "application/vnd.oci.image.index.v1+json"
        elif "layers" in data and "config" in data:
            mt = "application/vnd.oci.image.manifest.v1+json"
        else:
            raise RegistryError(f"unsupported manifest type {mt or '(none)'}")
    return Manifest(digest, mt, raw, data)


def read_capped(resp: httpx.Response, cap: int, what: str, body_timeout: float) -> bytes:
    """A whole response body, bounded in size and in time."""
    declared = resp.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > cap:
        raise RegistryError(f"{what} is {declared} bytes, over the {cap}-byte cap")
    buf = bytearray()
    # A per-read timeout does not stop a server that trickles one byte at a time: bound the whole body.
    deadline = time.monotonic() + body_timeout
    try:
        for chunk in resp.iter_bytes():
            buf += chunk
            if len(buf) > cap:
                raise RegistryError(f"{what} is over the {cap}-byte cap")
            if time.monotonic() > deadline:
                raise RegistryError(f"the {what} arrived too slowly (over {body_timeout:g}s)")
    except httpx.HTTPError as exc:
        raise RegistryError(
            f"connection broke while reading the {what} ({type(exc).__name__})", retryable=True
        ) from None
    return bytes(buf)
