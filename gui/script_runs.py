"""Training scripts started from the GUI ("Run a script…"), as ``traindoc run`` starts them.

:func:`check_spec` validates what the dialog holds with the CLI's own code
(:mod:`traindoc.engine.script_params`): each bad field gets one message, never an
exception. :class:`ScriptRunController` launches the script with the engine's
:class:`~traindoc.engine.script_run.ScriptProcess` (its own process group,
``TRAINDOC_LOGDIR`` exported; the GUI process never imports torch) and opens its log
folder like any opened logs, so the run is charted, followed and diagnosed live. Stop
ends the script's whole process group; so does closing the window.
"""

from __future__ import annotations

import os
import shlex
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QObject, QTimer

from traindoc.engine.errors import UserError
from traindoc.engine.events import RUNNING, STOPPED
from traindoc.engine.script_params import ParamMap, check_flags, parse_params, scripted
from traindoc.engine.script_run import ScriptProcess
from traindoc.gui import script_fixes
from traindoc.gui.core import lineage

POLL_MS = 500  # how often a started script is checked for its exit
#: A script that has written no logs this long after its start gets a warning, as
#: ``traindoc run`` gives one (traindoc.engine.cli.run.NO_LOGS_SECONDS).
NO_LOGS_SECONDS = 30.0


@dataclass(slots=True)
class ScriptSpec:
    """A checked script run: the command, where it runs, where it logs, its mapping."""

    command: list[str]
    cwd: Path
    logdir: Path
    params: ParamMap = field(default_factory=lambda: ParamMap({}))


def check_spec(
    command_text: str, cwd_text: str, logdir_text: str, params_text: str
) -> tuple[ScriptSpec | None, dict[str, str]]:
    """The spec, or None with one message per bad field ("command", "cwd", "logdir",
    "params")."""
    errors: dict[str, str] = {}
    cwd = Path(cwd_text.strip() or os.getcwd()).expanduser()
    if not cwd.is_dir():
        errors["cwd"] = f"no such folder: {cwd}"
    command = _check_command(command_text, cwd, errors)
    logdir = Path(logdir_text.strip()).expanduser() if logdir_text.strip() else None
    if logdir is None:
        errors["logdir"] = "a log folder is needed"
    else:
        logdir = logdir if logdir.is_absolute() else cwd / logdir
        if logdir.exists() and not logdir.is_dir():
            errors["logdir"] = f"not a folder: {logdir}"
    params = ParamMap({})
    try:
        params = parse_params([ln for ln in params_text.splitlines() if ln.strip()])
        if command is not None:
            check_flags(params, command)
            params.config(command)  # each mapped value must suit its key
    except UserError as exc:
        errors["params"] = str(exc)
    if errors or command is None or logdir is None:
        return None, errors
    return ScriptSpec(command, cwd.resolve(), logdir.resolve(), params), errors


def _check_command(text: str, cwd: Path, errors: dict[str, str]) -> list[str] | None:
    try:
        command = shlex.split(text)
    except ValueError as exc:  # an unclosed quote
        errors["command"] = f"cannot split the command line: {exc}"
        return None
    if not command:
        errors["command"] = "a command is needed (e.g. python train.py --lr 0.1)"
        return None
    program = command[0]
    if os.sep in program:
        found = (cwd / program).expanduser().exists()
    else:
        found = shutil.which(program) is not None
    if not found:
        errors["command"] = f"{program}: command not found"
    return command


@dataclass(slots=True)
class ScriptRun:
    """A started script: its process, its spec, and the folder opened in the app."""

    spec: ScriptSpec
    process: ScriptProcess
    stopper: threading.Thread | None = None
    code: int | None = None
    started: float = field(default_factory=time.monotonic)
    warned: bool = False  # "no logs yet" said once


class ScriptRunController(QObject):
    """Starts checked scripts, opens their logs in the window, and stops them."""

    def __init__(self, window, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.window = window
        self.scripts: dict[Path, ScriptRun] = {}  # log folder -> its script
        self.timer = QTimer(self)
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self.poll)
        self.scripted: dict[str, object] = {}  # run id -> the diagnosis given patches here
        window.model.diagnosis_changed.connect(self._diagnosed)
        window.model.run_added.connect(self._adopt)

    def start(self, spec: ScriptSpec) -> ScriptRun:
        """Launch the script (raises UserError when it cannot start) and open its logs."""
        spec.logdir.mkdir(parents=True, exist_ok=True)
        process = ScriptProcess(spec.command, str(spec.logdir), stdout_to_stderr=False,
                                cwd=str(spec.cwd))
        run = ScriptRun(spec, process)
        self.scripts[spec.logdir] = run
        self.window.build_heavy()
        self.window.open_logs(spec.logdir)
        self.timer.start()
        self.window.model.message.emit(f"started {shlex.join(spec.command)}; logs in "
                                       f"{spec.logdir}")
        return run

    def script_of(self, run_id: str) -> ScriptRun | None:
        """The script whose log folder holds run ``run_id``, if it was started here."""
        run = self.window.model.run(run_id)
        if run is None or not run.source:
            return None
        return self.scripts.get(Path(run.source))

    def running(self, run_id: str) -> bool:
        script = self.script_of(run_id)
        return script is not None and script.code is None and script.stopper is None

    def stop(self, run_id: str) -> bool:
        """End the script of run ``run_id`` (its whole group), off the GUI thread."""
        script = self.script_of(run_id)
        if script is None or script.stopper is not None:
            return False
        script.stopper = threading.Thread(target=script.process.stop, daemon=True,
                                          name=f"stop {script.spec.logdir}")
        script.stopper.start()
        self.window.model.message.emit(f"stopping {shlex.join(script.spec.command)}")
        return True

    def poll(self) -> None:
        """Reap scripts that exited; say how each ended, and mark its runs so."""
        for script in self.scripts.values():
            if script.code is None and script.process.poll() is None:
                self._warn_without_logs(script)
            if script.code is not None or script.process.poll() is None:
                continue
            script.code = script.process.poll()
            if script.stopper is None:
                script.process.finish()
            self.window.model.message.emit(self._ending(script))
            for run in self.runs_of(script):
                self._mark(run.id, script)
        if all(s.code is not None for s in self.scripts.values()):
            self.timer.stop()

    def _warn_without_logs(self, script: ScriptRun) -> None:
        if script.warned or self.runs_of(script) \
                or time.monotonic() - script.started < NO_LOGS_SECONDS:
            return
        script.warned = True
        self.window.model.message.emit(
            f"warning: no TensorBoard logs written under {script.spec.logdir} for "
            f"{NO_LOGS_SECONDS:g} s (does the script write to $TRAINDOC_LOGDIR?)")

    def runs_of(self, script: ScriptRun) -> list:
        """The runs read from the script's log folder."""
        return [r for r in self.window.model.runs()
                if r.source and Path(r.source) == script.spec.logdir]

    def running_names(self) -> list[str]:
        """Names of the runs whose script is still going (the command line for a script
        with no logs yet), for the close prompt."""
        names: list[str] = []
        for script in self.scripts.values():
            if script.code is None and script.stopper is None:
                runs = self.runs_of(script)
                names += [r.name for r in runs] or [shlex.join(script.spec.command)]
        return names

    def _adopt(self, run_id: str) -> None:
        """A run found in a script's log folder takes the script's status."""
        script = self.script_of(run_id)
        if script is not None:
            self._mark(run_id, script)

    def _mark(self, run_id: str, script: ScriptRun) -> None:
        """The run's status from its script's: running while it goes, then finished
        (exit 0), failed (any other exit, with its last stderr line) or stopped."""
        if script.code is None:
            status, reason = RUNNING, f"running {shlex.join(script.spec.command)}"
        elif script.stopper is not None:
            status, reason = STOPPED, "stopped from the window"
        else:
            status, reason = script.process.ending(script.code)
        self.window.model.update_run(run_id, status=status, reason=reason)
        self._judge(run_id, script)

    def _judge(self, run_id: str, script: ScriptRun) -> None:
        """A fix run whose script ended gets its verdict (again on each new diagnosis:
        the last lines are read after the script exits)."""
        run = self.window.model.run(run_id)
        if run is None or run.fix is None or script.code is None:
            return
        verdict = lineage.verdict(self.window.model.state, run)
        if verdict is not None and (run.verdict is None or run.verdict.text() != verdict.text()):
            self.window.model.set_verdict(run_id, verdict)

    @staticmethod
    def _ending(script: ScriptRun) -> str:
        name = shlex.join(script.spec.command)
        if script.stopper is not None:
            return f"stopped: {name}"
        if script.code == 0:
            return f"script finished: {name}"
        tail = " | ".join(list(script.process.stderr_tail)[-3:])
        return f"script failed (exit code {script.code}): {name}" + (f": {tail}" if tail else "")

    def _diagnosed(self, run_id: str) -> None:
        """A script run's new diagnosis: its remedies get the script's patches; a fix run
        whose script ended, its verdict."""
        script = self.script_of(run_id)
        if script is None:
            return
        self._give_patches(run_id, script)
        self._judge(run_id, script)

    def _give_patches(self, run_id: str, script: ScriptRun) -> None:
        """The remedies get the patches the script can take (the mapped options), and
        the run a config to show the old values from."""
        run = self.window.model.run(run_id)
        if not script.spec.params.flags or run.diagnosis is None \
                or run.diagnosis is self.scripted.get(run_id):
            return
        if run.config is None:
            self.window.model.update_run(run_id, config=script_fixes.script_config(script.spec))
        self.scripted[run_id] = scripted(run.diagnosis, script.spec.params, script.spec.command)
        self.window.model.set_diagnosis(run_id, self.scripted[run_id])

    def apply_fix(self, run_id: str, finding, remedy) -> str:
        """Start the script again with the remedy's options, as a child of run ``run_id``;
        the child's log folder. Raises ValueError when the script cannot take the fix."""
        script = self.script_of(run_id)
        parent = self.window.model.run(run_id)
        if script is None or parent is None:
            raise ValueError("not a script started here")
        spec = script_fixes.child_spec(script.spec, parent.run_dir, parent.name, finding, remedy)
        try:
            self.start(spec)
        except UserError as exc:
            raise ValueError(str(exc)) from None
        return str(spec.logdir)

    def close_all(self) -> None:
        """Stop every script's process group and wait for it (the window is closing)."""
        self.timer.stop()
        for script in self.scripts.values():
            if script.stopper is not None:
                script.stopper.join()
            elif script.process.group_alive():
                script.process.stop()
            else:
                script.process.finish()
