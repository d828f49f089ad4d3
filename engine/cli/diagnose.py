"""``traindoc diagnose PATH... [--json | --jsonl] [--fail-on LEVEL] [--watch] [--role ROLE=TAG]``.

The runs are read and diagnosed in a process pool when the tree is large enough to repay
it (``diagnose_pool``), and printed as they come, in the order of the serial output.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from typing import Any

from traindoc.diagnostics.report import document_json, run_json, text_block
from traindoc.engine.cli.diagnose_input import check_event_file, check_role_tags, run_title
from traindoc.engine.cli.diagnose_pool import (
    SERIAL_MAX_RUNS,
    Job,
    Options,
    RunResult,
    pool_size,
    results,
)
from traindoc.engine.cli.exits import (
    EXIT_FINDINGS,
    EXIT_INTERRUPTED,
    EXIT_OK,
    FAIL_LEVELS,
    UserError,
    findings_exit,
    interrupted,
)
from traindoc.engine.run_diagnosis import display_name
from traindoc.engine.tb.discovery import RunSource, find_runs
from traindoc.engine.tb.roles import parse_overrides
from traindoc.engine.watch import Watcher

WATCH_SECONDS = 2.0
BAR_DELAY_S = 0.5  # a progress bar only for a diagnosis that takes longer


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "diagnose",
        help="diagnose every run found under each PATH (TensorBoard logs)",
        description="Read TensorBoard logs (a file, a run folder or a tree of runs) and "
        "report NaN, divergence, oscillation, slow descent, overfitting, underfitting "
        "and gradient explosion, with evidence and remedies.",
        epilog="Exit codes: 0 done; 1 a finding at or above --fail-on; 2 bad input (a path "
        "that does not exist or holds no event file, a --role naming a tag no run has); 130 "
        "interrupted.",
    )
    parser.add_argument("paths", nargs="+", metavar="PATH")
    as_json = parser.add_mutually_exclusive_group()
    as_json.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object: each run's roles, points, status and findings, "
        "and the warnings",
    )
    as_json.add_argument(
        "--jsonl",
        action="store_true",
        help="print one JSON object per run per line, as each run is diagnosed (the run "
        "objects of --json; the warnings go to stderr)",
    )
    parser.add_argument(
        "--fail-on",
        choices=sorted(FAIL_LEVELS),
        help="exit 1 when a finding is at or above this severity",
    )
    parser.add_argument(
        "--role",
        action="append",
        default=[],
        metavar="ROLE=TAG",
        help="map a tag to a role, e.g. --role val_loss=Loss/test, --role val_metric=val_RMSE, "
        "--role train_loss=train/box_loss+train/obj_loss (a sum); repeatable",
    )
    parser.add_argument(
        "--watch",
        action="store_true",
        help="keep reading as logs grow and print what changed, until Ctrl-C (exit 130, "
        "or 1 with --fail-on when the last diagnoses fail it)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    try:
        overrides = parse_overrides(args.role)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    for path in args.paths:
        try:
            os.stat(path)
        except FileNotFoundError:
            raise UserError(f"{path}: no such file or directory") from None
        except OSError as exc:  # unreachable (permissions): plan_paths says why
            if args.watch:
                raise UserError(f"{path}: {exc.strerror or exc}") from None
        if args.watch and not os.access(path, os.R_OK):
            raise UserError(f"{path}: permission denied")
        check_event_file(path)
    if args.watch:
        return watch(args.paths, overrides, as_json=args.json or args.jsonl, fail_on=args.fail_on)
    output = "json" if args.json else "jsonl" if args.jsonl else "text"
    return report(plan_paths(args.paths), Options(overrides, output), args.fail_on)


def plan_paths(paths: list[str]) -> list[tuple[list[str], list[Job]]]:
    """For each path, in order: the warnings of finding its runs, and the runs to diagnose.
    A path, folder or file that cannot be read is a warning naming it and the reason (the
    rest is still diagnosed); no run at all is bad input, with the reasons."""
    plan = []
    for path in paths:
        warnings: list[str] = []
        try:
            sources = find_runs(path, warnings=warnings)
        except FileNotFoundError:
            raise UserError(f"{path}: no such file or directory") from None
        except OSError as exc:  # the path itself cannot be examined
            plan.append(([f"{path}: cannot examine it ({exc.strerror or exc})"], []))
            continue
        sources = [s for s in sources if _readable(s, warnings)]
        if not sources and not warnings:
            warnings.append(f"{path}: no TensorBoard event files found")
        names = [display_name(path, source.name, len(paths)) for source in sources]
        jobs = [Job(s, n, run_title(n, paths)) for s, n in zip(sources, names, strict=True)]
        plan.append((warnings, jobs))
    if not any(jobs for _, jobs in plan):
        found = [w for warnings, _ in plan for w in warnings]
        why = f" ({'; '.join(found)})" if found else ""
        raise UserError(f"no TensorBoard event files found under {', '.join(paths)}{why}")
    return plan


def report(plan: list[tuple[list[str], list[Job]]], options: Options, fail_on: str | None) -> int:
    """Diagnose the planned runs (in a pool when the tree repays it) and print each as it
    comes, in the planned order, with a progress bar on a terminal's stderr; with ``--json``
    one document at the end, and when ``--role`` names tags, everything once they are
    checked (a tag no run has is bad input, reported before any output)."""
    jobs = [job for _, path_jobs in plan for job in path_jobs]
    # Past SERIAL_MAX_RUNS the size does not matter: no stat of every file.
    workers = pool_size(len(jobs), _total_bytes(jobs) if len(jobs) <= SERIAL_MAX_RUNS else 0)
    warnings: list[str] = []
    held: list[RunResult] = []
    hold = options.output == "json" or bool(options.role_tags)
    out = Printer(options.output, total=len(jobs))
    failing = False
    levels = FAIL_LEVELS[fail_on] if fail_on else ()
    stream = results(jobs, options, workers=workers)
    try:
        for path_warnings, path_jobs in plan:
            warnings.extend(path_warnings)
            for _job in path_jobs:
                result = next(stream)
                warnings.extend(result.warnings)
                failing = failing or any(s in levels for s in result.severities)
                if hold:
                    held.append(result)
                else:
                    out.emit(result.output)
                out.advance()
    finally:
        out.close()
        stream.close()  # ends the pool's workers, however we leave
    if options.role_tags:
        check_role_tags(options.overrides, held)
    if options.output == "json":
        runs = [r.output for r in held]
        print(json.dumps(document_json(runs, warnings), indent=1, allow_nan=False, default=str))
    else:
        for result in held:
            out.emit(result.output)
        for warning in warnings:
            print(f"warning: {warning}", file=sys.stderr)
    return EXIT_FINDINGS if failing else EXIT_OK


def _total_bytes(jobs: list[Job]) -> int:
    total = 0
    for job in jobs:
        for file in job.source.files:
            with contextlib.suppress(OSError):
                total += os.stat(file).st_size
    return total


def _readable(source: RunSource, warnings: list[str]) -> bool:
    """False, with a warning, for a file given by itself that cannot be opened (in a
    tree of runs, the reader says which file it could not read, and reads the rest)."""
    if source.name != "." or len(source.files) != 1 or source.root != source.files[0]:
        return True
    try:
        with open(source.root, "rb"):
            return True
    except OSError as exc:
        warnings.append(f"{source.root}: cannot read it ({exc.strerror or exc})")
        return False


class Printer:
    """Prints each run's output as it comes (text blocks a blank line apart, JSON lines),
    and the progress bar: on stderr, when it is a terminal, once diagnosing has taken
    ``BAR_DELAY_S`` (a short tree shows none)."""

    def __init__(self, output: str, *, total: int) -> None:
        self.output = output
        self.first = True
        self.bar: Any = None
        if total > 1 and _isatty(sys.stderr):
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="run", file=sys.stderr, delay=BAR_DELAY_S,
                            leave=False, dynamic_ncols=True)

    def emit(self, output: str) -> None:
        text = output if self.output == "jsonl" or self.first else "\n" + output
        self.first = False
        if self.bar is not None and _isatty(sys.stdout):
            self.bar.write(text, file=sys.stdout)  # clears the bar, prints, redraws it
        else:
            print(text, flush=self.output == "jsonl")

    def advance(self) -> None:
        if self.bar is not None:
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # replaced or closed
        return False


def watch(
    paths: list[str], overrides: dict[str, str], *, as_json: bool, fail_on: str | None
) -> int:
    """Follow the logs as they grow (each poll reads and diagnoses only the new points);
    print a run again only when its status or findings changed. Ctrl-C ends it: exit 130,
    or 1 when the last diagnoses have a finding at or above ``--fail-on``."""
    watcher = Watcher(paths, overrides)
    last: dict[str, tuple] = {}
    try:
        while True:
            for change in watcher.changes():
                _print_warnings(watcher.take_warnings())
                if change.diagnosis is None:
                    continue
                diagnosis = change.diagnosis
                key = (diagnosis.status, tuple((f.rule, f.severity) for f in diagnosis.findings))
                if last.get(change.name) == key:
                    continue
                last[change.name] = key
                if as_json:
                    points = watcher.runs[change.name].points
                    obj = run_json(diagnosis, run=change.name, roles=change.roles, points=points)
                    print(json.dumps(obj, allow_nan=False, default=str), flush=True)
                else:
                    stamp = time.strftime("%H:%M:%S")
                    title = run_title(change.name, paths)
                    print(f"[{stamp}] " + text_block(diagnosis, run=title), flush=True)
            _print_warnings(watcher.take_warnings())
            time.sleep(WATCH_SECONDS)
    except KeyboardInterrupt:
        interrupted("diagnose")
    found = findings_exit((run.diagnosis() for run in watcher.runs.values()), fail_on)
    return EXIT_FINDINGS if found == EXIT_FINDINGS else EXIT_INTERRUPTED


def _print_warnings(warnings: list[str]) -> None:
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr, flush=True)
