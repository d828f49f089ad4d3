"""``traindoc run [--config FILE] [--logdir DIR] [--param KEY=FLAG ...] [--json]
[--fail-on LEVEL] -- COMMAND``.

Runs any training script (:mod:`traindoc.engine.script_run`), follows the TensorBoard logs
it writes under DIR (:mod:`traindoc.engine.script_logs`), prints new findings as they
appear and ends with the run's diagnosis. ``--param optim.lr=--lr`` says which option
carries a config key, so a remedy changing only such keys comes with the changed command.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path
from typing import Any

from traindoc.diagnostics.report import document_json, run_json, text_block
from traindoc.diagnostics.types import Diagnosis, Finding
from traindoc.engine.cli import autofix
from traindoc.engine.cli.exits import (
    EXIT_FINDINGS,
    EXIT_INTERRUPTED,
    FAIL_LEVELS,
    UserError,
    findings_exit,
    interrupted,
)
from traindoc.engine.repair.script_runs import ScriptConfig, script_name
from traindoc.engine.script_file import load_script
from traindoc.engine.script_logs import ScriptLogs, ScriptRunLog, snapshot
from traindoc.engine.script_params import ParamMap, check_flags, parse_params, scripted
from traindoc.engine.script_run import ScriptProcess

#: Seconds between two reads of the logs (at least; see READ_SHARE).
POLL_SECONDS = 0.5
#: A changed run is read again whole: the wait after a read is at least this many times
#: the read's duration, so following a large log takes a bounded share of a CPU.
READ_SHARE = 4.0
#: A script that writes no logs for this long gets a warning line (tests lower it).
NO_LOGS_SECONDS = 30.0


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "run",
        help="run any training script and diagnose the TensorBoard logs it writes",
        description="Start COMMAND (its own process group, TRAINDOC_LOGDIR=DIR), follow the "
        "TensorBoard logs it writes under DIR, print findings as they appear and end with "
        "the run's diagnosis.",
        epilog="Exit codes: 0 done; 1 the script failed, or a finding at or above --fail-on; "
        "2 bad input (a command not found, a bad --param); 130 interrupted (the script's "
        "whole process group is stopped).",
    )
    parser.add_argument("--config", metavar="FILE",
                        help="a TOML file whose [script] table gives command, params and "
                        "optionally logdir and cwd; options given here override it")
    parser.add_argument("--logdir", metavar="DIR",
                        help="where the script writes its logs (default: the file's "
                        "logdir, else here)")
    parser.add_argument(
        "--param", action="append", default=[], metavar="KEY=FLAG",
        help="the script's option for a config key, e.g. optim.lr=--lr: remedies changing "
        "only such keys come with the changed command; repeatable",
    )
    parser.add_argument("--json", action="store_true",
                        help="end with one JSON object (diagnose --json's, plus 'script')")
    parser.add_argument("--fail-on", choices=sorted(FAIL_LEVELS),
                        help="exit 1 when a finding is at or above this severity")
    parser.add_argument("script", nargs=argparse.REMAINDER, metavar="-- COMMAND [ARGS...]",
                        help="the training script's command line")
    autofix.add_arguments(parser, json_option=False)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    command, params, logdir, cwd = script_arguments(args)
    check_flags(params, command)
    if autofix.requested(args, json_needs_it=False):
        config = ScriptConfig(tuple(command), params, cwd, script_name(command))
        return autofix.run_script(args, config, logdir)
    logs = ScriptLogs(logdir, snapshot(logdir), params.config(command))
    script = ScriptProcess(command, logdir, stdout_to_stderr=args.json, cwd=cwd)
    try:
        code = follow(script, logs, params, as_json=args.json)
    except KeyboardInterrupt:
        interrupted("run", "(stopping the script)")
        script.stop()
        return EXIT_INTERRUPTED
    logs.update()
    report(logs, params, command, code, as_json=args.json)
    if code != 0:
        echo_failure(script, code)
        return EXIT_FINDINGS
    return findings_exit((r.diagnosis for r in logs.runs.values()), args.fail_on)


def script_arguments(args: argparse.Namespace) -> tuple[list[str], ParamMap, str, str | None]:
    """(command, params, logdir, cwd): the command line's, over ``--config``'s [script]
    table (a command after ``--`` replaces the file's; ``--param`` adds to or replaces
    its mapping key by key)."""
    command = list(args.script)
    if command and command[0] == "--":
        command = command[1:]
    table = load_script(args.config) if args.config else None
    if not command and table is not None:
        command = table.command
    if not command:
        raise UserError("no command given (traindoc run [OPTIONS] -- COMMAND [ARGS...], "
                        "or --config FILE with a [script] table)")
    flags = dict(table.params.flags) if table is not None else {}
    flags.update(parse_params(args.param).flags)
    logdir = args.logdir or (str(table.logdir) if table is not None and table.logdir else ".")
    cwd = str(table.cwd) if table is not None and table.cwd else None
    if cwd is not None and not Path(cwd).is_dir():
        raise UserError(f"{args.config}: [script] cwd: no such folder: {cwd}")
    return command, ParamMap(flags), logdir, cwd


def follow(
    script: ScriptProcess, logs: ScriptLogs, params: ParamMap, *, as_json: bool
) -> int:
    """Until the script exits: read the logs, print new findings; its exit code."""
    shown: dict[str, tuple] = {}
    last_growth = time.monotonic()
    warned = False
    while (code := script.poll()) is None:
        started = time.monotonic()
        changed = logs.update()
        pause = max(POLL_SECONDS, READ_SHARE * (time.monotonic() - started))
        if changed:
            last_growth, warned = time.monotonic(), False
        elif not warned and time.monotonic() - last_growth >= NO_LOGS_SECONDS:
            warned = True
            print(f"warning: no TensorBoard logs written under {logs.logdir} for "
                  f"{NO_LOGS_SECONDS:g} s (does the script write to $TRAINDOC_LOGDIR?)",
                  file=sys.stderr, flush=True)
        if not as_json:
            for run_log in changed:
                print_new(run_log, params, script.command, shown)
        _sleep_while_running(script, pause)
    script.finish()
    return code


def _sleep_while_running(script: ScriptProcess, seconds: float) -> None:
    """Sleep ``seconds``, or less when the script exits meanwhile."""
    deadline = time.monotonic() + seconds
    while script.poll() is None and time.monotonic() < deadline:
        time.sleep(min(POLL_SECONDS, 0.1))


def print_new(
    run_log: ScriptRunLog, params: ParamMap, command: list[str], shown: dict[str, tuple]
) -> None:
    """Print a run's diagnosis when its status or findings changed since last shown."""
    d = scripted(run_log.diagnosis, params, command)
    key = (d.status, tuple((f.rule, f.severity) for f in d.findings))
    if shown.get(run_log.name) == key:
        return
    shown[run_log.name] = key
    stamp = time.strftime("%H:%M:%S")
    print(f"[{stamp}] " + text_block(d, run=run_log.name), flush=True)


def report(
    logs: ScriptLogs, params: ParamMap, command: list[str], code: int, *, as_json: bool
) -> None:
    runs = [(r, scripted(r.diagnosis, params, command)) for r in logs.runs.values()]
    warnings = list(logs.warnings)
    if not runs:
        warnings.append(f"{logs.logdir}: no TensorBoard logs written by the script")
    if as_json:
        objs = [script_run_json(r, d, params, command) for r, d in runs]
        doc = document_json(objs, warnings)
        doc["script"] = {"command": command, "exit_code": code}
        print(json.dumps(doc, indent=1, allow_nan=False, default=str), flush=True)
        return
    blocks = [text_block(d, run=r.name) + fix_lines(d, params, command) for r, d in runs]
    if blocks:
        print("\n\n".join(blocks), flush=True)
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr, flush=True)


def script_run_json(
    run_log: ScriptRunLog, diagnosis: Diagnosis, params: ParamMap, command: list[str]
) -> dict[str, Any]:
    """``diagnose --json``'s run object; each remedy says whether it applies to the
    script: with the changed ``command`` when it does, with its ``snippet`` when not."""
    obj = run_json(diagnosis, run=run_log.name, roles=run_log.log.roles,
                   points=run_log.log.points)
    for finding, finding_obj in zip(diagnosis.findings, obj["findings"], strict=True):
        for remedy, remedy_obj in zip(finding.remedies, finding_obj["remedies"], strict=True):
            remedy_obj["applicable"] = remedy.patch is not None
            if remedy.patch is not None:
                remedy_obj["command"] = params.apply(command, remedy.patch)
            elif remedy.snippet:
                remedy_obj["snippet"] = remedy.snippet
    return obj


def fix_lines(diagnosis: Diagnosis, params: ParamMap, command: list[str]) -> str:
    """One ``fix:`` line per finding whose first untried remedy applies to the script."""
    lines = []
    for finding in diagnosis.findings:
        remedy = first_applicable(finding)
        if remedy is not None and remedy.patch is not None:
            fixed = shlex.join(params.apply(command, remedy.patch))
            lines.append(f"\n  fix ({finding.rule}, {remedy.id}): {fixed}")
    return "".join(lines)


def first_applicable(finding: Finding) -> Any:
    untried = [r for r in finding.remedies if not r.already_tried]
    return next((r for r in untried if r.patch is not None), None)


def echo_failure(script: ScriptProcess, code: int) -> None:
    print(f"traindoc run: the script failed (exit code {code}): {shlex.join(script.command)}",
          file=sys.stderr)
    for line in script.stderr_tail:
        print(f"  | {line}", file=sys.stderr)
    sys.stderr.flush()
