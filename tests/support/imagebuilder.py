"""Assemble OCI / Docker images from real bytes and push them to the test registry over the
distribution HTTP API (monolithic POST + PUT, as in test-environment.md §2)."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from dataclasses import dataclass, field
from typing import Any

import httpx

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
LAYER_TYPES = {
    ("oci", "gzip"): "application/vnd.oci.image.layer.v1.tar+gzip",
    ("oci", "zstd"): "application/vnd.oci.image.layer.v1.tar+zstd",
    ("oci", "none"): "application/vnd.oci.image.layer.v1.tar",
    ("docker", "gzip"): "application/vnd.docker.image.rootfs.diff.tar.gzip",
}


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass
class Symlink:
    target: str


@dataclass
class Hardlink:
    target: str


@dataclass
class Dir:
    pass


@dataclass
class Whiteout:
    """`.wh.<name>` beside the path: deletes it from the layers below."""


@dataclass
class Opaque:
    """`.wh..wh..opq` inside the directory: hides everything below it."""


Entry = bytes | Symlink | Hardlink | Dir | Whiteout | Opaque


def tar_bytes(files: dict[str, Entry], *, explicit_dirs: bool = True) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        dirs: list[str] = []
        if explicit_dirs:
            for path in files:
                parts = path.strip("/").split("/")[:-1]
                for i in range(1, len(parts) + 1):
                    d = "/".join(parts[:i])
                    if d not in dirs:
                        dirs.append(d)
        for d in dirs:
            info = tarfile.TarInfo(d + "/")
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(info)
        for path, entry in files.items():
            name = path.strip("/")
            if isinstance(entry, Whiteout):
                parent, _, base = name.rpartition("/")
                info = tarfile.TarInfo(f"{parent}/.wh.{base}" if parent else f".wh.{base}")
                tar.addfile(info, io.BytesIO(b""))
            elif isinstance(entry, Opaque):
                tar.addfile(tarfile.TarInfo(f"{name}/.wh..wh..opq"), io.BytesIO(b""))
            elif isinstance(entry, Dir):
                info = tarfile.TarInfo(name + "/")
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            elif isinstance(entry, Symlink):
                info = tarfile.TarInfo(name)
                info.type, info.linkname = tarfile.SYMTYPE, entry.target
                tar.addfile(info)
            elif isinstance(entry, Hardlink):
                info = tarfile.TarInfo(name)
                info.type, info.linkname = tarfile.LNKTYPE, entry.target.strip("/")
                tar.addfile(info)
            else:
                info = tarfile.TarInfo(name)
                info.size, info.mode = len(entry), 0o755
                tar.addfile(info, io.BytesIO(entry))
    return buf.getvalue()


def compress(raw: bytes, how: str) -> bytes:
    if how == "gzip":
        return gzip.compress(raw, compresslevel=1, mtime=0)
    if how == "zstd":
        import zstandard

        return zstandard.ZstdCompressor(level=1).compress(raw)
    return raw


@dataclass
class Layer:
    blob: bytes
    diff_id: str
    media_type: str


@dataclass
class Pushed:
    repo: str
    digest: str
    media_type: str
    size: int
    platform: dict[str, str] | None = None

    def descriptor(self) -> dict[str, Any]:
        d: dict[str, Any] = {"mediaType": self.media_type, "digest": self.digest, "size": self.size}
        if self.platform:
            d["platform"] = self.platform
        return d


@dataclass
class Pusher:
    host: str
    auth: tuple[str, str] | None = None
    client: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=60))
    pushed_blobs: set[tuple[str, str]] = field(default_factory=set)

    def _url(self, repo: str, path: str) -> str:
        return f"http://{self.host}/v2/{repo}/{path}"

    def blob(self, repo: str, data: bytes) -> str:
        digest = sha(data)
        if (repo, digest) in self.pushed_blobs:
            return digest
        if self.client.head(self._url(repo, f"blobs/{digest}"), auth=self.auth).status_code != 200:
            r = self.client.post(self._url(repo, "blobs/uploads/"), auth=self.auth)
            assert r.status_code == 202, r.text
            loc = r.headers["location"]
            if loc.startswith("/"):
                loc = f"http://{self.host}{loc}"
            sep = "&" if "?" in loc else "?"
            r = self.client.put(
                f"{loc}{sep}digest={digest}",
                content=data,
                auth=self.auth,
                headers={"Content-Type": "application/octet-stream"},
            )
            assert r.status_code == 201, r.text
        self.pushed_blobs.add((repo, digest))
        return digest

    def manifest(self, repo: str, ref: str, body: bytes, media_type: str) -> str:
        r = self.client.put(
            self._url(repo, f"manifests/{ref}"), content=body, auth=self.auth, headers={"Content-Type": media_type}
        )
        assert r.status_code == 201, r.text
        return sha(body)

    def layer(
        self, files: dict[str, Entry], *, compression: str = "gzip", style: str = "oci", explicit_dirs: bool = True
    ) -> Layer:
        raw = tar_bytes(files, explicit_dirs=explicit_dirs)
        return Layer(compress(raw, compression), sha(raw), LAYER_TYPES[(style, compression)])

    def image(
        self,
        repo: str,
        tag: str | None,
        *,
        arch: str,
        layers: list[Layer],
        entrypoint: list[str] | None = None,
        cmd: list[str] | None = None,
        env: list[str] | None = None,
        workdir: str | None = None,
        variant: str | None = None,
        style: str = "oci",
        os_: str = "linux",
    ) -> Pushed:
        config: dict[str, Any] = {
            "architecture": arch,
            "os": os_,
            "config": {
                k: v
                for k, v in {"Entrypoint": entrypoint, "Cmd": cmd, "Env": env, "WorkingDir": workdir}.items()
                if v is not None
            },
            "rootfs": {"type": "layers", "diff_ids": [layer.diff_id for layer in layers]},
        }
        if variant:
            config["variant"] = variant
        cfg = json.dumps(config, sort_keys=True).encode()
        self.blob(repo, cfg)
        for layer in layers:
            self.blob(repo, layer.blob)
        mt = OCI_MANIFEST if style == "oci" else DOCKER_MANIFEST
        manifest = {
            "schemaVersion": 2,
            "mediaType": mt,
            "config": {
                "mediaType": OCI_CONFIG if style == "oci" else DOCKER_CONFIG,
                "digest": sha(cfg),
                "size": len(cfg),
            },
            "layers": [
                {"mediaType": layer.media_type, "digest": sha(layer.blob), "size": len(layer.blob)} for layer in layers
            ],
        }
        body = json.dumps(manifest).encode()
        digest = self.manifest(repo, tag or sha(body), body, mt)
        plat = {"architecture": arch, "os": os_}
        if variant:
            plat["variant"] = variant
        return Pushed(repo, digest, mt, len(body), plat)

    def attestation(self, repo: str, subject: Pushed) -> Pushed:
        """A buildx-style provenance attestation manifest (platform unknown/unknown)."""
        cfg = b"{}"
        self.blob(repo, cfg)
        stmt = json.dumps(
            {"_type": "https://in-toto.io/Statement/v0.1", "predicateType": "https://slsa.dev/provenance/v0.2"}
        ).encode()
        self.blob(repo, stmt)
        manifest = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha(cfg), "size": 2},
            "layers": [{"mediaType": "application/vnd.in-toto+json", "digest": sha(stmt), "size": len(stmt)}],
        }
        body = json.dumps(manifest).encode()
        digest = self.manifest(repo, sha(body), body, OCI_MANIFEST)
        return Pushed(repo, digest, OCI_MANIFEST, len(body), {"architecture": "unknown", "os": "unknown"})

    def index(
        self, repo: str, tag: str, children: list[Pushed], *, style: str = "oci", attest: list[Pushed] | None = None
    ) -> Pushed:
        mt = OCI_INDEX if style == "oci" else DOCKER_LIST
        manifests = [c.descriptor() for c in children]
        for a in attest or []:
            d = a.descriptor()
            d["annotations"] = {
                "vnd.docker.reference.type": "attestation-manifest",
                "vnd.docker.reference.digest": children[0].digest,
            }
            manifests.append(d)
        body = json.dumps({"schemaVersion": 2, "mediaType": mt, "manifests": manifests}).encode()
        digest = self.manifest(repo, tag, body, mt)
        return Pushed(repo, digest, mt, len(body))
