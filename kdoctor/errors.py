"""The error hierarchy and the one table that maps outcomes to exit codes.

Only ``kdoctor.cli.main`` turns these into process exit codes; library code raises them. The exit-code
texts each command's --help prints live here too, next to the codes they describe (README repeats them).
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    FINDINGS = 1  # at least one error (or warning with --fail-on warning); a tool `up` needed failed
    USAGE = 2  # bad flags or bad input files
    INCOMPLETE = 3  # checks (or image lookups) could not run
    CONFLICT = 4  # `up`: an existing cluster differs in something that cannot change in place
    PREFLIGHT = 5  # `up`: the plan cannot work; nothing was changed
    INTERNAL = 70  # a bug in kdoctor: one line on stderr and a crash log
    INTERRUPTED = 130


EXIT_HELP = {
    "diagnose": (
        "Exit codes: 0 no errors; 1 at least one error (or warning with --fail-on warning); "
        "2 bad usage or bad input; 3 some checks could not run; 70 internal error (see the crash log)."
    ),
    "images": (
        "Exit codes: 0 every image is native or emulated; 1 some image will crash or cannot run (crash, "
        "unsupported), or a Dockerfile build step will die under its emulator; 2 bad usage, or an input file "
        "could not be read (the other files are still reported); 3 some "
        "verdicts are unknown (registry unreachable, 401, 429, timeout, unset Compose variable) and none worse; "
        "70 internal error. With --fail-on (or a policy fail_on): 1 when the gate is reached, else 0 (2 still "
        "for unreadable input)."
    ),
    "up": (
        "Exit codes: 0 ready (created, started, updated, or already matching); 1 the cluster did not become ready, "
        "its nodes are not arm64, or a tool failed; 2 bad usage or a malformed profile; 4 an existing cluster "
        "differs in something that cannot change in place (use --recreate), or consent was refused; 5 preflight "
        "failed, nothing changed; 70 internal error; 130 interrupted (re-run to finish)."
    ),
    "why": (
        "Exit codes: 0 the failure was explained (or nothing is failing); 1 the pod is failing and no known "
        "signature matched (or a --log matched nothing); 2 bad usage; 3 the pod's facts could not be gathered; "
        "70 internal error."
    ),
}


class KdoctorError(Exception):
    exit_code: ExitCode = ExitCode.INTERNAL
    hint: str | None = None  # what the user can do, printed after the message


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


class IncompleteError(KdoctorError):
    """The facts a command needs could not be gathered (e.g. `why POD` cannot read the pod)."""

    exit_code = ExitCode.INCOMPLETE


class RegistryError(KdoctorError):
    """A registry request that failed; `reason` is short, user-facing and free of secrets."""

    def __init__(self, reason: str, *, status: int | None = None, retryable: bool = False):
        self.reason = reason
        self.status = status
        self.retryable = retryable
        super().__init__(reason)


class CommandFailed(KdoctorError):
    """A tool kdoctor ran exited non-zero where success was required (`up`, `down`): exit 1, nothing deleted."""

    exit_code = ExitCode.FINDINGS

    def __init__(self, argv: tuple[str, ...], returncode: int, stderr: str):
        self.argv = argv
        self.returncode = returncode
        self.stderr = stderr
        tail = stderr.strip().splitlines()[-1:] or ["(no output)"]
        super().__init__(f"{argv[0]} exited {returncode}: {tail[0]}")


class Interrupted(BaseException):
    """SIGINT or SIGTERM arrived: unwind (letting `finally` blocks stop child processes) and exit 130.

    The optional message says what state the interruption left (printed after "interrupted")."""
