"""Exceptions: one root, a few kinds, each with a stable code and a message that says what to do."""

from __future__ import annotations

DOCS = "https://github.com/trustladder/trustladder#error-"


class SupervisorError(Exception):
    """Root of every error trustladder raises on purpose.

    The CLI prints ``str(error)`` on one line and exits 2.
    """

    code = "supervisor-error"

    def __init__(self, message: str, *, location: str | None = None) -> None:
        self.location = location
        prefix = f"{location}: " if location else ""
        super().__init__(f"{prefix}{message}")

    @property
    def help_url(self) -> str:
        """Where the README explains this error."""
        return f"{DOCS}{self.code}"


class UsageError(SupervisorError):
    """The command line or an input file is not what the command expects."""

    code = "usage"


class PolicyConfigError(SupervisorError):
    """trust_ladder.yaml is malformed: names the file, the key path and the fix."""

    code = "policy-config"


class ClassificationError(SupervisorError):
    """The classifier was called wrongly, e.g. with a dialect sqlglot does not know."""

    code = "classification"


class ApprovalError(SupervisorError):
    """An approval cannot be recorded as asked."""

    code = "approval"


class LedgerError(SupervisorError):
    """The ledger cannot be read or written."""

    code = "ledger"
