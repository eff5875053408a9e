"""The error hierarchy and the one table that maps outcomes to exit codes.

Only ``kdoctor.cli`` turns these into process exit codes; library code raises them.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    FINDINGS = 1  # at least one error (or warning with --fail-on warning)
    USAGE = 2  # bad flags or bad input files
    INCOMPLETE = 3  # checks (or image lookups) could not run
    CONFLICT = 4  # `up`: an existing cluster differs in something that cannot change in place
    PREFLIGHT = 5  # `up`: the plan cannot work; nothing was changed
    INTERNAL = 70
    INTERRUPTED = 130


class KdoctorError(Exception):
    exit_code: ExitCode = ExitCode.INTERNAL


class UsageError(KdoctorError):
    """Bad flags, or an input file that cannot be read or parsed."""

    exit_code = ExitCode.USAGE


class InputError(UsageError):
    """A malformed input file; the message names the file, line and key."""

    def __init__(self, source: str, message: str, *, line: int | None = None, key: str | None = None):
        self.source = source
        self.line = line
        self.key = key
        self.detail = message
        where = source if line is None else f"{source}:{line}"
        what = f"{key}: " if key else ""
        super().__init__(f"{where}: {what}{message}")


class ProbeError(KdoctorError):
    """A fact source could not be read. Probes turn this into a recorded reason, never a crash."""

    exit_code = ExitCode.INCOMPLETE


class ConflictError(KdoctorError):
    exit_code = ExitCode.CONFLICT


class PreflightError(KdoctorError):
    exit_code = ExitCode.PREFLIGHT


class CommandFailed(KdoctorError):
    """A tool kdoctor ran exited non-zero where success was required."""

    exit_code = ExitCode.INTERNAL

    def __init__(self, argv: tuple[str, ...], returncode: int, stderr: str):
        self.argv = argv
        self.returncode = returncode
        self.stderr = stderr
        tail = stderr.strip().splitlines()[-1:] or ["(no output)"]
        super().__init__(f"{argv[0]} exited {returncode}: {tail[0]}")


class Interrupted(BaseException):
    """SIGINT or SIGTERM arrived: unwind (letting `finally` blocks stop child processes) and exit 130."""
