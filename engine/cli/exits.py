"""Exit codes, user errors and the interrupt line: what every command shares (SPEC §5).

0 done; 1 findings at or above ``--fail-on`` (or a run that failed or diverged);
2 bad input (a :class:`UserError`: one line on stderr, never a traceback);
130 interrupted (Ctrl-C, anywhere), with one line on stderr.
"""

from __future__ import annotations

import contextlib
import signal
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING

from traindoc.engine.errors import UserError

if TYPE_CHECKING:  # the diagnostics load only for the commands that diagnose
    from traindoc.diagnostics.types import Diagnosis

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_FINDINGS",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "FAIL_LEVELS",
    "UserError",
    "findings_exit",
    "ignore_sigint",
    "interrupted",
]

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130

# ``--fail-on LEVEL``: the severities (``Severity.value``) that make a command exit 1.
FAIL_LEVELS = {"error": ("error",), "warning": ("error", "warning")}


def findings_exit(diagnoses: Iterable[Diagnosis], fail_on: str | None) -> int:
    """1 when a finding is at or above ``fail_on`` (None: never), else 0."""
    if fail_on is None:
        return EXIT_OK
    levels = FAIL_LEVELS[fail_on]
    failing = any(f.severity.value in levels for d in diagnoses for f in d.findings)
    return EXIT_FINDINGS if failing else EXIT_OK


def interrupted(command: str, detail: str = "") -> None:
    """Say once that we were interrupted; a further Ctrl-C while we leave changes nothing."""
    ignore_sigint()
    with contextlib.suppress(OSError, ValueError):  # stdout may be a closed pipe
        sys.stdout.flush()
    suffix = f" {detail}" if detail else ""
    print(f"traindoc {command}: interrupted{suffix}", file=sys.stderr, flush=True)


def ignore_sigint() -> None:
    with contextlib.suppress(ValueError):  # ValueError: not the main thread
        signal.signal(signal.SIGINT, signal.SIG_IGN)
