"""The repair loop over a training script (``traindoc run --auto-fix``): what it runs.

A script's "config" is its command line plus the ``--param`` mapping
(:class:`~traindoc.engine.script_params.ParamMap`): its values are the mapped options'
(``--lr 20`` is ``optim.lr = 20``), a remedy's patch becomes the changed options, and
a remedy touching a key the script has no option for cannot be applied (the loop
passes over it). Each attempt runs in a folder of its own under the log folder,
exported as ``TRAINDOC_LOGDIR`` (the script must write its TensorBoard logs there),
with a ``status.json`` written when the script ends, so that the attempt is read
back and judged like any run (:func:`traindoc.engine.repair.outcome.read_record`).
"""

from __future__ import annotations

import dataclasses
import shlex
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from traindoc.engine import rundir
from traindoc.engine.config_names import fix_name
from traindoc.engine.events import FAILED, RUNNING, STOPPED
from traindoc.engine.repair.outcome import RunRecord, read_record
from traindoc.engine.script_params import ParamMap, scripted
from traindoc.engine.script_run import ScriptProcess


@dataclass(frozen=True, slots=True)
class ScriptConfig:
    """A script to run: its command line, option mapping, working folder and a name for
    its run folders (an attempt's name records its fixes, as ``traindoc train``'s do)."""

    command: tuple[str, ...]
    params: ParamMap
    cwd: str | None = None
    name: str = "script"


def script_name(command: list[str]) -> str:
    """``python examples/train_script.py --lr 2`` → ``train_script``."""
    words = [w for w in command if not w.startswith("-")]
    script = next((w for w in words[1:] if w.endswith(".py")), words[0] if words else "script")
    return Path(script).stem or "script"


class ScriptRun:
    """One attempt: the script in its own process group, logging to its own folder."""

    def __init__(self, config: ScriptConfig, logdir: Path, *, stdout_to_stderr: bool) -> None:
        self.run_dir = rundir.make_run_dir(logdir, config.name)
        rundir.write_status(self.run_dir, RUNNING, shlex.join(config.command))
        try:
            self.process = ScriptProcess(list(config.command), str(self.run_dir),
                                         stdout_to_stderr=stdout_to_stderr, cwd=config.cwd)
        except BaseException:
            rundir.write_status(self.run_dir, FAILED, "the script could not start")
            raise
        self._stopper: threading.Thread | None = None
        self._ended = False

    @property
    def started(self) -> bool:
        """The script wrote logs (a script that failed before has nothing to judge)."""
        return any(self.run_dir.rglob("*tfevents*"))

    def step(self) -> bool:
        if self._ended:
            return True
        code = self.process.poll()
        if code is None:
            return False
        if self._stopper is not None:
            self._stopper.join()
            rundir.write_status(self.run_dir, STOPPED, "stopped", exit_code=code)
        else:
            self.process.finish()
            status, reason = self.process.ending(code)
            extra = {"exit_code": code} if status == FAILED else {}
            rundir.write_status(self.run_dir, status, reason, **extra)
        self._ended = True
        return True

    def stop_soon(self) -> None:
        if self._stopper is None:
            self._stopper = threading.Thread(target=self.process.stop, daemon=True,
                                             name=f"stop {self.run_dir.name}")
            self._stopper.start()

    def close(self) -> None:
        if self.process.group_alive():
            self.process.stop()
        if not self._ended:
            self.step()


class ScriptRuns:
    """:class:`~traindoc.engine.repair.runs.Runs` for training scripts."""

    def __init__(self, *, stdout_to_stderr: bool = False) -> None:
        self.stdout_to_stderr = stdout_to_stderr
        self.configs: dict[Path, ScriptConfig] = {}  # run folder -> what ran there

    def flat(self, config: ScriptConfig) -> dict[str, Any]:
        return config.params.current(config.command)

    def child(self, config: ScriptConfig, remedy: str, patch: Mapping[str, Any]) -> ScriptConfig:
        if not config.params.applicable(patch):
            unmapped = sorted(set(patch) - set(config.params.flags))
            raise ValueError(f"the script has no option for {', '.join(unmapped)}")
        name = fix_name(config.name, remedy)
        command = tuple(config.params.apply(config.command, patch))
        return dataclasses.replace(config, command=command, name=name)

    def start(self, config: ScriptConfig, logdir: Path, on_events: Any) -> ScriptRun:
        run = ScriptRun(config, logdir, stdout_to_stderr=self.stdout_to_stderr)
        self.configs[run.run_dir] = config
        return run

    def record(self, run_dir: Path) -> RunRecord:
        """The attempt's own logs diagnosed; each remedy's patch from the mapped options,
        kept only when the script can take it."""
        record = read_record(run_dir)
        config = self.configs.get(Path(run_dir))
        if config is None:
            return record
        diagnosis = scripted(record.outcome.diagnosis, config.params, config.command)
        return dataclasses.replace(
            record, outcome=dataclasses.replace(record.outcome, diagnosis=diagnosis))
