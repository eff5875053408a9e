"""The import graph keeps its shape: no cycles, no upward imports, narrow doors between packages
(scripts/layers.py holds the rules and says why each exists)."""

from __future__ import annotations

import importlib.util

from tests.conftest import REPO


def _layers():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("layers", REPO / "scripts" / "layers.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_no_import_cycles() -> None:
    layers = _layers()
    assert layers.package_cycles(layers.graph()) == []


def test_no_upward_imports_and_only_the_named_doors() -> None:
    layers = _layers()
    edges = layers.graph()
    assert layers.upward(edges) == []
    assert layers.through(edges) == []


def test_the_checker_sees_a_violation() -> None:
    """The rules bite: an edge from facts up to images, and a cycle, are both reported."""
    layers = _layers()
    edges = {"facts.gather": {"images.scan"}, "images.scan": {"facts.gather"}}
    assert layers.upward(edges) == ["facts.gather -> images.scan"]
    assert layers.package_cycles(edges) == [["facts.gather", "images.scan"]]
    assert layers.through({"images.scan": {"facts.engine"}}) == ["images.scan -> facts.engine (only facts.model)"]


def test_images_sub_packages_keep_their_order_and_the_registry_its_face() -> None:
    layers = _layers()
    assert layers.inner(layers.graph()) == []


def test_the_inner_rules_bite() -> None:
    layers = _layers()
    assert layers.inner({"images.inspect.analyse": {"images.judge.verdict"}}) == [
        "images.inspect.analyse -> images.judge.verdict (images.inspect may import ['registry'])"
    ]
    assert layers.inner({"images.inputs.kube": {"images.registry"}}) == [
        "images.inputs.kube -> images.registry (images.inputs may import no sibling)"
    ]
    assert layers.inner({"images.scan": {"images.registry.transport"}}) == [
        "images.scan -> images.registry.transport (only through its face, images.registry)"
    ]
    assert layers.inner({"images.scan": {"images.judge.verdict", "images.registry"}}) == []
