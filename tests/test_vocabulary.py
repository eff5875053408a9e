"""The words of the domain exist once (kdoctor/vocabulary.py, kdoctor/platforms.py); the places that must spell
them differently (a pydantic Literal, the CLI's choices) are held to them here."""

from __future__ import annotations

import ast
import typing
from pathlib import Path

import pytest

from kdoctor.commands._common import EmulatorChoice
from kdoctor.facts.model import Emulator as FactsEmulator
from kdoctor.platforms import Platform, arch_of, facts_arch, oci_arch
from kdoctor.vocabulary import SEVERITY_ORDER, Emulator, Verdict

PACKAGE = Path(__file__).resolve().parent.parent / "kdoctor"


def test_the_facts_emulator_literal_is_the_vocabulary_plus_native() -> None:
    # "native" is a fact (the engine runs amd64 itself), not something a foreign image meets.
    assert set(typing.get_args(FactsEmulator)) == {e.value for e in Emulator} | {"native"}


def test_the_cli_emulator_choices_are_emulator_words() -> None:
    assert {c.value for c in EmulatorChoice} - {"auto"} <= {e.value for e in Emulator}


def test_every_verdict_has_a_severity() -> None:
    assert set(SEVERITY_ORDER) == set(Verdict)


def _tuples_of_words(words: set[str]) -> list[str]:
    """Literal tuples/sets of two or more of `words` written anywhere in the package but vocabulary.py."""
    found = []
    for path in PACKAGE.rglob("*.py"):
        if path.name == "vocabulary.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        # A Literal[...] annotation must spell its words; test_the_facts_emulator_literal_… holds it to these.
        literal_args = {id(n.slice) for n in ast.walk(tree) if isinstance(n, ast.Subscript)}
        for node in ast.walk(tree):
            if id(node) in literal_args:
                continue
            if isinstance(node, ast.Tuple | ast.Set | ast.List):
                consts = {e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)}
                if len(consts & words) >= 2:
                    found.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    return found


def test_no_module_lists_emulator_or_verdict_words_again() -> None:
    assert _tuples_of_words({"qemu", "rosetta", "fex"}) == []
    assert _tuples_of_words({"native", "emulated", "crash", "unsupported"}) == []


@pytest.mark.parametrize(
    ("word", "oci", "facts"),
    [
        ("aarch64", "arm64", "arm64"),
        ("arm64", "arm64", "arm64"),
        ("arm64/v8", "arm64", "arm64"),
        ("x86_64", "amd64", "x86_64"),
        ("AMD64", "amd64", "x86_64"),
        ("x86-64", "amd64", "x86_64"),
        ("armhf", "arm", "arm"),
        ("riscv64", "riscv64", "riscv64"),
        ("", None, None),
        (None, None, None),
    ],
)
def test_the_two_spellings_of_an_architecture(word: str | None, oci: str | None, facts: str | None) -> None:
    assert oci_arch(word) == oci
    assert facts_arch(word) == facts


def test_loose_platform_text() -> None:
    assert arch_of("linux/arm64/v8") == "arm64"
    assert arch_of("windows/amd64 10.0.18363") == "amd64"
    assert arch_of("(linux/x86_64)") == "amd64"
    assert arch_of("  ") is None
    assert arch_of("linux/arm/v7") == "arm/v7" and arch_of("linux/arm/v6") == "arm/v6"
    assert arch_of("armv7l") == "arm/v7" and arch_of("arm") == "arm" and arch_of("linux/arm64/v8") == "arm64"
    assert Platform.parse("Linux/AArch64/v8") == Platform("linux", "arm64")
