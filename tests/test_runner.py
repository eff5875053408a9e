"""The process seam: timeouts, missing binaries and failures become results, never exceptions."""

from __future__ import annotations

import sys
import time

from kdoctor.runner import NOT_FOUND, FakeRunner, SubprocessRunner


def test_missing_binary_is_not_found() -> None:
    res = SubprocessRunner().run(["kdoctor-no-such-tool", "--version"])
    assert res.not_found and res.returncode == NOT_FOUND
    assert "not installed" in res.why()


def test_timeout_kills_and_reports() -> None:
    t0 = time.monotonic()
    res = SubprocessRunner().run([sys.executable, "-c", "import time; time.sleep(30)"], timeout=0.5)
    assert res.timed_out
    assert time.monotonic() - t0 < 5
    assert "timed out" in res.why()


def test_arguments_are_never_interpreted_by_a_shell(tmp_path) -> None:
    marker = tmp_path / "pwned"
    res = SubprocessRunner().run([sys.executable, "-c", "import sys; print(sys.argv[1])", f"; touch {marker}"])
    assert res.ok and res.stdout.strip() == f"; touch {marker}"
    assert not marker.exists()


def test_failure_reason_uses_last_stderr_line() -> None:
    res = SubprocessRunner().run([sys.executable, "-c", "import sys; sys.stderr.write('a\\nboom\\n'); sys.exit(3)"])
    assert res.returncode == 3 and res.why().endswith("exited 3: boom")


def test_fake_runner_records_calls_and_defaults_to_not_found() -> None:
    fake = FakeRunner(handler=lambda argv: None)
    res = fake.run(["minikube", "version"])
    assert res.not_found and fake.calls == [("minikube", "version")]
