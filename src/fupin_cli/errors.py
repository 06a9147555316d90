"""Exceptions for input that cannot be used at all, with their exit codes.

Data-quality problems are *not* exceptions: they are rows of a Findings frame
(see :mod:`fupin_cli.findings`).  An exception here means "fupin cannot go on";
the CLI turns it into one line on stderr and the documented exit code:

====  =====================================================================
code  meaning
====  =====================================================================
0     success (``validate``: no error-level findings)
1     the data has errors (``validate`` found error findings, ``rules test``
      had failing scenarios, ``identify`` stopped on validation errors)
2     usage error: bad option or argument, output exists without ``--force``
3     rule pack error: invalid YAML/rule/expression, parameter missing for a year
4     input file unusable: unreadable, corrupt, encrypted, no header, no such sheet;
      or an output cannot be written (folder not writable, disk full, locked)
5     internal error (a bug: please report it; ``--debug`` shows the traceback)
====  =====================================================================

Messages never contain full ID numbers (use :func:`fupin_cli.idnumber.mask`).
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_DATA = 1
EXIT_USAGE = 2
EXIT_RULES = 3
EXIT_INPUT = 4
EXIT_INTERNAL = 5


class FupinError(Exception):
    """Base class: a one-line, user-facing message plus an exit code.

    ``message`` says what went wrong and where; ``hint`` says how to fix it.
    """

    exit_code = EXIT_INTERNAL

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def one_line(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class UsageError(FupinError):
    """Bad option or argument; output file already exists without --force."""

    exit_code = EXIT_USAGE


class InputError(FupinError):
    """An input file cannot be used at all (unreadable, no header, missing sheet...)."""

    exit_code = EXIT_INPUT


class RuleError(FupinError):
    """A rule pack is invalid, or a parameter has no value for the requested year/region.

    ``problems`` holds every problem found (``file:line:col: key.path: message``) so
    ``fupin rules check`` can print them all at once.
    """

    exit_code = EXIT_RULES

    def __init__(self, message: str, hint: str | None = None, problems: list[str] | None = None):
        super().__init__(message, hint)
        self.problems = list(problems or [])


class OutputError(FupinError):
    """An output cannot be written: folder not writable, disk full, another run writing it (exit 4).

    Nothing is left half-written: the temporary file is removed and an existing output is kept.
    """

    exit_code = EXIT_INPUT


class DataError(FupinError):
    """The data has errors that stop the requested job (e.g. validation errors in identify)."""

    exit_code = EXIT_DATA
    problems: list[str]  # the first findings, when the raiser lists them (core/identify.stop_on_errors)
