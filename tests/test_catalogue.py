"""The catalogue (top-level checks/*.yaml) and the code must agree, and README must list every check."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kdoctor.checks.all import load_checks
from kdoctor.checks.catalogue import ID_PREFIX_CATEGORY, catalogue
from kdoctor.cli import app
from kdoctor.errors import InputError
from kdoctor.report.model import Severity
from tests.conftest import REPO


def test_catalogue_and_registry_hold_the_same_ids() -> None:
    assert set(catalogue()) == set(load_checks())


@pytest.mark.parametrize("check_id", sorted(load_checks()))
def test_check_lives_where_its_id_says(check_id: str) -> None:
    spec, entry = load_checks()[check_id], catalogue()[check_id]
    assert re.fullmatch(r"KD\d{3}", check_id)
    category = ID_PREFIX_CATEGORY[check_id[2]]
    assert entry.category is category
    assert spec.module == f"kdoctor.checks.{category.value}"
    assert entry.severity in (Severity.INFO, Severity.WARNING, Severity.ERROR)
    assert entry.rationale and entry.fix and entry.title


def test_thresholds_the_code_reads_exist_in_the_catalogue() -> None:
    for check_id, spec in load_checks().items():
        source = Path(spec.fn.__code__.co_filename).read_text()
        body = source[source.index(f'@check("{check_id}"') :]
        body = body[: body.find("\n@check(", 1) if "\n@check(" in body[1:] else len(body)]
        for key in re.findall(r'threshold\("([a-z_]+)"\)', body):
            assert key in catalogue()[check_id].thresholds, (check_id, key)


def test_readme_check_table_lists_every_check() -> None:
    readme = (REPO / "README.md").read_text()
    for check_id, entry in catalogue().items():
        assert re.search(rf"\|\s*{check_id}\s*\|\s*{entry.category.value}\s*\|", readme), check_id


def test_explain_prints_the_entry() -> None:
    result = CliRunner().invoke(app, ["explain", "kd601"])
    assert result.exit_code == 0
    assert "KD601" in result.stdout and "has only" in result.stdout


def test_explain_unknown_id_is_a_usage_error() -> None:
    from kdoctor.errors import UsageError

    result = CliRunner().invoke(app, ["explain", "KD999"])
    assert isinstance(result.exception, UsageError)


def test_malformed_catalogue_entry_names_file_and_key(tmp_path) -> None:
    (tmp_path / "KD900.yaml").write_text(
        "id: KD900\ntitle: x\ncategory: weather\nseverity: error\nrationale: r\nfix: f\n"
    )
    with pytest.raises(InputError) as exc:
        catalogue.__wrapped__(tmp_path)
    assert "KD900.yaml" in str(exc.value) and "category" in str(exc.value)
    (tmp_path / "KD900.yaml").write_text("id: KD900\ntitle: [unclosed\n")
    with pytest.raises(InputError) as exc:
        catalogue.__wrapped__(tmp_path)
    assert "KD900.yaml:" in str(exc.value)
