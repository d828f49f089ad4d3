"""The ``traindoc`` command line: ``train``, ``diagnose``, ``run``, ``gui`` (SPEC §5).

Exit codes: 0 done; 1 findings at or above ``--fail-on`` (or a run that failed
or diverged); 2 bad input, with a one-line reason on stderr — never a traceback
for a user error; 130 interrupted (Ctrl-C, anywhere), with one line on stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
from collections.abc import Callable, Sequence

from traindoc.engine.cli.exits import (
    EXIT_BAD_INPUT,
    EXIT_INTERRUPTED,
    EXIT_OK,
    UserError,
    interrupted,
)

OpenApp = Callable[[Sequence[str]], int]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="traindoc",
        description="Train neural networks, read TensorBoard logs, diagnose what went wrong.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    from traindoc.engine.cli import diagnose as cli_diagnose
    from traindoc.engine.cli import find as cli_find
    from traindoc.engine.cli import run as cli_run
    from traindoc.engine.cli import train as cli_train

    cli_train.add_parser(commands)
    cli_find.add_parsers(commands)
    cli_diagnose.add_parser(commands)
    cli_run.add_parser(commands)
    gui = commands.add_parser(
        "gui", help="open the desktop app (the default)", description=GUI_DESCRIPTION
    )
    gui.add_argument("paths", nargs="*", metavar="PATH", help="TensorBoard logs to open")
    return parser


GUI_DESCRIPTION = "Open the traindoc desktop app, optionally with TensorBoard logs loaded."


def run_gui(argv: Sequence[str], open_app: OpenApp | None) -> int:
    """``traindoc`` / ``traindoc gui [PATH...]``: parsed without loading the other commands,
    so the window appears fast (SPEC §8). ``open_app`` is the app's entry point, handed
    in by :mod:`traindoc.__main__` (engine never imports gui)."""
    parser = argparse.ArgumentParser(prog="traindoc gui", description=GUI_DESCRIPTION)
    parser.add_argument("paths", nargs="*", metavar="PATH", help="TensorBoard logs to open")
    args = parser.parse_args(argv)
    for path in args.paths:
        if not os.path.exists(path):
            print(f"traindoc gui: {path}: no such file or directory", file=sys.stderr)
            return EXIT_BAD_INPUT
    if open_app is None:
        print("traindoc gui: the desktop app opens from the traindoc command", file=sys.stderr)
        return EXIT_BAD_INPUT
    from traindoc.engine.cli.display import display_problem

    problem = display_problem()
    if problem is not None:
        print(f"traindoc gui: {problem}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return open_app(args.paths)


def main(argv: Sequence[str] | None = None, open_app: OpenApp | None = None) -> int:
    # Called from code (tests): leave the caller's Ctrl-C handler as it was. As the
    # program, once interrupted keep ignoring Ctrl-C until the interpreter has exited.
    restore = argv is not None
    argv = list(sys.argv[1:] if argv is None else argv)
    previous = signal.getsignal(signal.SIGINT)
    try:
        return _dispatch(argv, open_app)
    except KeyboardInterrupt as exc:
        # Ctrl-C anywhere (start-up, imports, reading, the final summary): one line, 130.
        interrupted(argv[0] if argv else "gui")
        if not restore and isinstance(exc, _StartupInterrupt):
            # As the program, leave at once: an interrupt that landed inside an import can
            # make the interpreter's own shutdown end the process by SIGINT (-2, seen in
            # about 1 run in 15 interrupted 0.15-0.25 s after start) instead of 130.
            # Nothing was started yet, and ``interrupted`` flushed stdout and stderr.
            os._exit(EXIT_INTERRUPTED)
        return EXIT_INTERRUPTED
    finally:
        if restore and previous is not None and signal.getsignal(signal.SIGINT) is not previous:
            with contextlib.suppress(ValueError):
                signal.signal(signal.SIGINT, previous)


class _StartupInterrupt(KeyboardInterrupt):
    """Ctrl-C before the command's handler ran (while modules were being imported)."""


def _dispatch(argv: list[str], open_app: OpenApp | None) -> int:
    if not argv or argv[0] == "gui":
        return run_gui(argv[1:], open_app)
    try:
        parser = build_parser()  # imports every command's module
        args = parser.parse_args(argv)
    except KeyboardInterrupt:
        raise _StartupInterrupt from None
    try:
        return int(args.handler(args))
    except UserError as exc:
        print(f"traindoc {args.command}: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:
        # The reader of our output went away (e.g. `| head`): stop quietly.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
