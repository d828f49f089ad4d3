"""``traindoc diagnose PATH... [--json] [--fail-on LEVEL] [--watch] [--role ROLE=TAG ...]``."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

from traindoc.diagnostics.report import document_json, run_json, text_block
from traindoc.diagnostics.types import Diagnosis
from traindoc.engine.cli.diagnose_input import check_event_file, check_role_tags, run_title
from traindoc.engine.cli.exits import (
    EXIT_FINDINGS,
    EXIT_INTERRUPTED,
    FAIL_LEVELS,
    UserError,
    findings_exit,
    interrupted,
)
from traindoc.engine.fix_lineage import fix_line
from traindoc.engine.run_diagnosis import diagnose_log, display_name
from traindoc.engine.tb.discovery import RunSource, find_runs
from traindoc.engine.tb.reader import RunLog, load_run
from traindoc.engine.tb.roles import parse_overrides
from traindoc.engine.watch import Watcher

WATCH_SECONDS = 2.0


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
    parser.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object: each run's roles, points, status and findings, "
        "and the warnings",
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
        except OSError as exc:  # unreachable (permissions): diagnose_paths says why
            if args.watch:
                raise UserError(f"{path}: {exc.strerror or exc}") from None
        if args.watch and not os.access(path, os.R_OK):
            raise UserError(f"{path}: permission denied")
        check_event_file(path)
    if args.watch:
        return watch(args.paths, overrides, as_json=args.json, fail_on=args.fail_on)
    results, warnings = diagnose_paths(args.paths, overrides)
    check_role_tags(overrides, (log for _, log, _ in results))
    if args.json:
        runs = [
            run_json(d, run=name, roles=log.roles, points=log.points) for name, log, d in results
        ]
        print(json.dumps(document_json(runs, warnings), indent=1, allow_nan=False, default=str))
    else:
        print_text(results, warnings, args.paths)
    return exit_code(results, args.fail_on)


def diagnose_paths(
    paths: list[str], overrides: dict[str, str]
) -> tuple[list[tuple[str, RunLog, Diagnosis]], list[str]]:
    """Every run under the paths, diagnosed, and the warnings: a path, folder or file
    that cannot be read is a warning naming it and the reason (the rest is still
    diagnosed); none readable at all is bad input, with the reasons."""
    results = []
    warnings: list[str] = []
    for path in paths:
        before = len(warnings)
        try:
            found: list[str] = []
            sources = find_runs(path, warnings=found)
        except FileNotFoundError:
            raise UserError(f"{path}: no such file or directory") from None
        except OSError as exc:  # the path itself cannot be examined
            warnings.append(f"{path}: cannot examine it ({exc.strerror or exc})")
            continue
        warnings.extend(found)
        sources = [s for s in sources if _readable(s, warnings)]
        if not sources and len(warnings) == before:
            warnings.append(f"{path}: no TensorBoard event files found")
        for source in sources:
            run_log = load_run(source, overrides=overrides)
            warnings.extend(run_log.warnings)
            results.append(
                (display_name(path, source.name, len(paths)), run_log, diagnose_log(run_log))
            )
    if not results:
        why = f" ({'; '.join(warnings)})" if warnings else ""
        raise UserError(f"no TensorBoard event files found under {', '.join(paths)}{why}")
    return results, warnings


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


def print_text(
    results: list[tuple[str, RunLog, Diagnosis]], warnings: list[str], paths: list[str]
) -> None:
    blocks = [text_block(d, run=run_title(name, paths)) + roles_line(log) + _fix_line(log, d)
              for name, log, d in results]
    print("\n\n".join(blocks))
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)


def _fix_line(run_log: RunLog, diagnosis: Diagnosis) -> str:
    line = fix_line(run_log, diagnosis)
    return f"\n  {line}" if line else ""


def roles_line(run_log: RunLog) -> str:
    if not run_log.roles:
        return "\n  (no training or validation metric recognised; see --role)"
    return "\n  roles: " + ", ".join(f"{role}={tag}" for role, tag in run_log.roles.items())


def exit_code(results: list[tuple[str, RunLog, Diagnosis]], fail_on: str | None) -> int:
    return findings_exit((d for _, _, d in results), fail_on)


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
