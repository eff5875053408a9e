"""A bug in kdoctor exits 70 with one line and a crash log, distinct from "findings" (1)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from kdoctor import __version__, cli
from kdoctor.crashlog import redact


def test_internal_error_exits_70_with_a_crash_log(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import kdoctor.checks.catalogue as catalogue

    def broken() -> None:
        raise ValueError("a bug, with a password=hunter2 inside")

    monkeypatch.setattr(catalogue, "catalogue", broken)
    monkeypatch.setenv("KDOCTOR_LOG_DIR", str(tmp_path))
    monkeypatch.setattr(sys, "argv", ["kdoctor", "checks"])
    with pytest.raises(SystemExit) as exc:
        cli.main()
    assert exc.value.code == 70
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "internal error (ValueError)" in err[0] and "Traceback" not in err[0]
    logs = list(tmp_path.glob("crash-*.log"))
    assert len(logs) == 1 and str(logs[0]) in err[0]
    body = logs[0].read_text()
    assert f"kdoctor {__version__}" in body and "argv: kdoctor checks" in body
    assert "Traceback" in body and "in broken" in body
    assert "hunter2" not in body and "password=***" in body


def test_an_unwritable_log_dir_still_exits_70(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import kdoctor.checks.catalogue as catalogue

    monkeypatch.setattr(catalogue, "catalogue", lambda: 1 / 0)
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("KDOCTOR_LOG_DIR", str(blocker / "logs"))
    monkeypatch.setattr(sys, "argv", ["kdoctor", "checks"])
    with pytest.raises(SystemExit) as exc:
        cli.main()
    assert exc.value.code == 70
    assert "no crash log" in capsys.readouterr().err


def test_redact_masks_urls_and_named_secrets() -> None:
    assert redact("https://bob:pa55@reg.example/v2") == "https://***@reg.example/v2"
    assert redact("--token=abc TOKEN: xyz") == "--token=*** TOKEN: ***"
