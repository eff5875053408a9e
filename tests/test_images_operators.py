"""Images that operators start from their own settings (checks/image-fields.yaml): custom-resource fields with list
paths, image environment variables (one reference, or Strimzi's version map), image flags, an operator ConfigMap;
and policy resources whose image strings are patterns, not pulls; Compose services built locally.

The documents below are small ones written here to pin each mechanism (field names and value formats from the
sources the catalogue cites); the real files that exercise them are cases of tests/corpus/manifests/.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from kdoctor.images.inputs.sources import read_inputs


def _scan(tmp_path: Path, text: str, name: str = "m.yaml") -> tuple[dict[str, str], list[tuple[str, str]]]:
    f = tmp_path / name
    f.write_text(text)
    report = read_inputs([str(f)], environ={})
    uses = {u.ref: u.origins[0].path for u in report.uses}
    return uses, [(s.reason, s.detail) for s in report.skipped]


def test_a_catalogue_list_path_yields_every_item(tmp_path: Path) -> None:
    uses, _ = _scan(
        tmp_path,
        "apiVersion: postgresql.cnpg.io/v1\nkind: ClusterImageCatalog\nmetadata: {name: pg}\nspec:\n  images:\n"
        "  - {major: 16, image: ghcr.io/cloudnative-pg/postgresql:16.3}\n"
        "  - {major: 17, image: ghcr.io/cloudnative-pg/postgresql:17.2}\n",
    )
    assert uses == {
        "ghcr.io/cloudnative-pg/postgresql:16.3": "spec.images[0].image",
        "ghcr.io/cloudnative-pg/postgresql:17.2": "spec.images[1].image",
    }


def test_operator_env_vars_flags_and_version_maps(tmp_path: Path) -> None:
    doc = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "op"},
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "manager",
                            "image": "quay.io/example/operator:1.0",
                            "args": ["--engine-image", "longhornio/longhorn-engine:v1.5.3", "--verbose"],
                            "command": ["longhorn-manager", "--instance-manager-image=longhornio/im:v1.5.3"],
                            "env": [
                                {"name": "RELATED_IMAGE_DB", "value": "registry.example.com/db@sha256:" + "a" * 64},
                                {"name": "RELATED_IMAGE_EMPTY", "value": ""},
                                {"name": "IMAGE_PULL_POLICY", "value": "Always"},
                                {
                                    "name": "STRIMZI_DEFAULT_KAFKA_EXPORTER_IMAGE",
                                    "value": "quay.io/strimzi/kafka:0.38.0",
                                },
                                {
                                    "name": "STRIMZI_KAFKA_IMAGES",
                                    "value": "3.5.0=quay.io/strimzi/kafka:0.38.0-kafka-3.5.0\n"
                                    "3.6.0=quay.io/strimzi/kafka:0.38.0-kafka-3.6.0\n",
                                },
                                {"name": "RELATED_IMAGE_NOT_A_REF", "value": "see the docs"},
                            ],
                        }
                    ]
                }
            }
        },
    }
    uses, _ = _scan(tmp_path, yaml.safe_dump(doc))
    assert set(uses) == {
        "quay.io/example/operator:1.0",
        "longhornio/longhorn-engine:v1.5.3",
        "longhornio/im:v1.5.3",
        "registry.example.com/db@sha256:" + "a" * 64,
        "quay.io/strimzi/kafka:0.38.0",
        "quay.io/strimzi/kafka:0.38.0-kafka-3.5.0",
        "quay.io/strimzi/kafka:0.38.0-kafka-3.6.0",
    }
    assert uses["registry.example.com/db@sha256:" + "a" * 64].endswith(".env[0].value (RELATED_IMAGE_DB)")
    assert uses["longhornio/longhorn-engine:v1.5.3"].endswith("args (--engine-image)")


def test_the_rook_operator_configmap_names_csi_images(tmp_path: Path) -> None:
    uses, _ = _scan(
        tmp_path,
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: rook-ceph-operator-config}\ndata:\n"
        '  ROOK_CSI_CEPH_IMAGE: "quay.io/cephcsi/cephcsi:v3.9.0"\n  ROOK_LOG_LEVEL: "INFO"\n'
        "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: unrelated}\ndata:\n"
        '  ROOK_CSI_CEPH_IMAGE: "quay.io/cephcsi/cephcsi:v0.0.1"\n',
    )
    assert uses == {"quay.io/cephcsi/cephcsi:v3.9.0": "data.ROOK_CSI_CEPH_IMAGE"}


def test_a_policy_s_patterns_and_variables_are_not_images(tmp_path: Path) -> None:
    uses, skipped = _scan(
        tmp_path,
        "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {name: p}\nspec:\n  rules:\n"
        "  - name: no-latest\n    validate:\n      pattern:\n        spec:\n          containers:\n"
        '          - image: "!*:latest"\n'
        "  - name: add-sidecar\n    mutate:\n      patchStrategicMerge:\n        spec:\n          containers:\n"
        '          - {name: proxy, image: "envoyproxy/envoy:v1.30.1"}\n'
        '          - {name: copy, image: "{{ request.object.spec.containers[0].image }}"}\n',
    )
    assert uses == {"envoyproxy/envoy:v1.30.1": "spec.rules[1].mutate.patchStrategicMerge.spec.containers[0].image"}
    assert [r for r, _ in skipped] == ["policy-patterns"]
    assert "2 image pattern(s)" in skipped[0][1]


def test_compose_build_with_a_local_pull_policy_is_not_looked_up(tmp_path: Path) -> None:
    uses, skipped = _scan(
        tmp_path,
        "services:\n  app:\n    image: myapp:dev\n    build: .\n    pull_policy: build\n"
        "  cached:\n    image: other:dev\n    build: {context: .}\n    pull_policy: never\n"
        "  pulled:\n    image: postgres:16\n    build: .\n",
        "compose.yaml",
    )
    assert set(uses) == {"postgres:16"}  # build + image without a policy: Compose pulls first
    # The row says how the service is built ("built from <its Dockerfile> …") and under which policy.
    assert [(r, re.search(r"pull_policy: \w+", d).group(0)) for r, d in skipped if r == "build-only"] == [
        ("build-only", "pull_policy: build"),
        ("build-only", "pull_policy: never"),
    ]


def test_an_unset_variable_is_shown_as_written(tmp_path: Path) -> None:
    """Issue 25, class 10: an image whose variable is unset is shown as written (`…:${TAG}-java`), not as the
    broken string interpolation leaves (`…:-java`); JSON keeps `ref` and adds `written`."""
    from tests.support.cli import IMAGES_ARM64_QEMU, run_kdoctor

    f = tmp_path / "compose.yaml"
    f.write_text("services:\n  agent:\n    image: apache/skywalking-java-agent:${SW_TAG}-java\n")
    env = {"KDOCTOR_CACHE_DIR": str(tmp_path / "c"), "NO_COLOR": "1", "COLUMNS": "200"}
    text = run_kdoctor(*IMAGES_ARM64_QEMU, "-f", str(f), env=env)
    assert "apache/skywalking-java-agent:${SW_TAG}-java" in text.stdout and ":-java " not in text.stdout
    assert "? not looked up, 1 image(s):" in text.stdout and "unknown on (not looked up)" not in text.stdout
    doc = run_kdoctor(*IMAGES_ARM64_QEMU, "-f", str(f), "-o", "json", env=env).json
    (img,) = doc["images"]
    assert (
        img["ref"] == "apache/skywalking-java-agent:-java"
        and img["written"] == "apache/skywalking-java-agent:${SW_TAG}-java"
    )
