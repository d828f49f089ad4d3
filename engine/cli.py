"""The ``traindoc`` command line: ``train``, ``diagnose``, ``gui`` (SPEC §5).

Exit codes: 0 done; 1 findings at or above ``--fail-on`` (or a run that failed
or diverged); 2 bad input, with a one-line reason on stderr — never a traceback
for a user error.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


class UserError(Exception):
    """Bad input from the user: printed as one line, exit code 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="traindoc",
        description="Train neural networks, read TensorBoard logs, diagnose what went wrong.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    from engine import cli_diagnose, cli_find, cli_train

    cli_train.add_parser(commands)
    cli_find.add_parsers(commands)
    cli_diagnose.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_OK
    try:
        return int(args.handler(args))
    except UserError as exc:
        print(f"traindoc {args.command}: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:
        # The reader of our output went away (e.g. `| head`): stop quietly.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
