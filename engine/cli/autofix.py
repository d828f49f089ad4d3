"""``traindoc train --auto-fix [N]``: fix until healthy, on the command line.

The loop is :class:`traindoc.engine.repair.session.RepairSession`; this module adds
the options to ``train``, shows each run's progress bar, prints one line per attempt,
the config diff from the first config to the final one and, last, ``final run: DIR``
(``--json``: one object instead). Exit codes: 0 when the final run is healthy; 1 when
the repair stopped short of that (budget spent, no remedy left, a run failed); 2 bad
input; 130 Ctrl-C (the running attempt stops cleanly, every folder and the report kept).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from traindoc.engine.cli.exits import (
    EXIT_FINDINGS,
    EXIT_INTERRUPTED,
    EXIT_OK,
    UserError,
    ignore_sigint,
    interrupted,
)

DEFAULT_ATTEMPTS = 4
MAX_ATTEMPTS = 100

HELP = (
    "fix until healthy: after the run, while its diagnosis has a warning or an error, apply "
    "the top finding's next remedy and train the child; at most N attempts after the first "
    f"run (default {DEFAULT_ATTEMPTS}). Exit 0 only when the final run is healthy"
)


def add_arguments(parser: argparse.ArgumentParser, *, json_option: bool = True) -> None:
    """``--auto-fix [N]``, ``--auto-fix-time MINUTES`` and (for ``train``) ``--json``."""
    group = parser.add_argument_group("fix until healthy")
    group.add_argument("--auto-fix", nargs="?", const=str(DEFAULT_ATTEMPTS), default=None,
                       metavar="N", help=HELP)
    group.add_argument("--auto-fix-time", type=float, default=None, metavar="MINUTES",
                       help="stop the repair after this many minutes (implies --auto-fix); "
                       "a running attempt is stopped")
    if json_option:
        group.add_argument("--json", action="store_true",
                           help="with --auto-fix: print the attempts, patches, verdicts and "
                           "the final run as one JSON object")


def requested(args: argparse.Namespace, *, json_needs_it: bool = True) -> bool:
    """Whether to repair; checks the options (``UserError`` when wrong). ``json_needs_it``:
    ``--json`` is the repair's (``train``), not the command's own (``run``)."""
    wanted = args.auto_fix is not None or args.auto_fix_time is not None
    if json_needs_it and args.json and not wanted:
        raise UserError("--json goes with --auto-fix")
    if args.auto_fix is not None and not args.auto_fix.isdigit():
        if args.config is not None or not args.auto_fix.strip():
            raise UserError(f"--auto-fix {args.auto_fix}: expected a number of attempts, "
                            f"0 to {MAX_ATTEMPTS}")
        # `train --auto-fix CONFIG.toml`: the optional N took the config.
        args.config, args.auto_fix = args.auto_fix, str(DEFAULT_ATTEMPTS)
    if args.auto_fix is not None and int(args.auto_fix) > MAX_ATTEMPTS:
        raise UserError(f"--auto-fix {args.auto_fix}: at most {MAX_ATTEMPTS} attempts")
    minutes = args.auto_fix_time
    if minutes is not None and not (minutes > 0 and minutes < 1e6):
        raise UserError(f"--auto-fix-time {minutes:g}: expected minutes > 0")
    return wanted


class _Shown:
    """Each run's progress bar (a new one per attempt) on stderr."""

    def __init__(self, progress: Callable[..., Any], *, enabled: bool) -> None:
        self.make = progress
        self.enabled = enabled
        self.progress: Any = None

    def new_run(self) -> None:
        self.close()
        if self.make is not None:  # a script shows its own progress
            self.progress = self.make(enabled=self.enabled)

    def events(self, _index: int, events: list) -> None:
        if self.progress is not None:
            self.progress.show(events)

    def close(self) -> None:
        if self.progress is not None:
            self.progress.close()


def run(args: argparse.Namespace, config: Any, progress: Callable[..., Any]) -> int:
    """Repair ``config`` (loaded by ``train``); ``progress`` makes ``train``'s progress bar."""
    from traindoc.engine.repair.session import RepairSession

    shown = _Shown(progress, enabled=not args.quiet)
    session = RepairSession(config, args.logdir, attempts=attempts(args),
                            minutes=args.auto_fix_time, on_run_events=shown.events)
    return drive(session, shown, as_json=args.json, command="train")


def run_script(args: argparse.Namespace, config: Any, logdir: str) -> int:
    """Repair a training script (``traindoc run --auto-fix``): ``config`` is its
    :class:`~traindoc.engine.repair.script_runs.ScriptConfig`."""
    from traindoc.engine.repair.script_runs import ScriptRuns
    from traindoc.engine.repair.session import RepairSession

    session = RepairSession(config, logdir, attempts=attempts(args), minutes=args.auto_fix_time,
                            runs=ScriptRuns(stdout_to_stderr=args.json))
    return drive(session, _Shown(None, enabled=False), as_json=args.json, command="run")


def attempts(args: argparse.Namespace) -> int:
    return int(args.auto_fix) if args.auto_fix is not None else DEFAULT_ATTEMPTS


def drive(session: Any, shown: _Shown, *, as_json: bool, command: str) -> int:
    """Run the session, printing as it goes; the exit code."""
    events = session.events()
    ended = None
    while ended is None:
        try:
            event = next(events)
        except StopIteration:
            break
        except KeyboardInterrupt:  # raised by the session: before the first run began
            shown.close()
            interrupted(command, "before the run started")
            return EXIT_INTERRUPTED
        try:
            ended = _show(event, session, shown, as_json=as_json)
        except KeyboardInterrupt:  # landed while we printed: the session stops next
            ignore_sigint()
            session.interrupt()
    shown.close()
    if ended is None:
        return EXIT_FINDINGS
    return _finish(ended, session, as_json=as_json, command=command)


def _show(event: Any, session: Any, shown: _Shown, *, as_json: bool) -> Any:
    """Print one session event; returns the ``RepairEnded`` event once it comes."""
    from traindoc.engine.repair import text
    from traindoc.engine.repair.events import AttemptEnded, AttemptStarted, RepairEnded

    if session.interrupted:
        ignore_sigint()
    if isinstance(event, AttemptStarted):
        shown.new_run()
    elif isinstance(event, AttemptEnded):
        shown.close()
        if not as_json:
            line = text.attempt_line(session.attempts, session.records, event.attempt,
                                     event.record)
            print(line, flush=True)
            for skip in text.skip_lines(session.skipped[-1]):
                print(skip, flush=True)
    elif isinstance(event, RepairEnded):
        return event
    return None


def _finish(ended: Any, session: Any, *, as_json: bool, command: str) -> int:
    from traindoc.diagnostics.report import text_block
    from traindoc.engine.repair import text

    result = ended.result
    for problem in ended.problems:
        print(f"warning: {problem}", file=sys.stderr)
    report = str(ended.report) if ended.report is not None else None
    if as_json:
        print(json.dumps(text.as_json(result, report), indent=1, default=str))
    else:
        print(text.ending_line(result))
        for line in text.diff_lines(result):
            print(line)
        final = result.records[result.final]
        print("final diagnosis: " + text_block(final.outcome.diagnosis, run=final.run_dir.name))
        if report is not None:
            print(f"report: {report}")
        print(f"final run: {result.final_dir}", flush=True)
    if session.interrupted:
        interrupted(command, "(every run and the report kept)")
        return EXIT_INTERRUPTED
    return EXIT_OK if result.healthy else EXIT_FINDINGS
