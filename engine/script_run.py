"""A training script run by ``traindoc run``: the child process and how it is stopped.

The script runs in its own process group (``start_new_session``) with ``TRAINDOC_LOGDIR``
set to the log folder; its stderr is kept (the last lines, echoed if it fails) and its
stdout goes to ours (or to our stderr, when our stdout carries JSON). :meth:`stop` ends
the whole group: SIGINT, then SIGTERM and SIGKILL after a grace period each.
"""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence

from traindoc.engine.errors import UserError
from traindoc.engine.events import FAILED, FINISHED

#: Seconds the group gets to leave after SIGINT, and again after SIGTERM.
STOP_GRACE_SECONDS = 5.0
#: Lines of the script's stderr kept for the failure report.
STDERR_LINES = 20


class ScriptProcess:
    """The script as a child process in its own group; see the module docstring."""

    def __init__(
        self, command: Sequence[str], logdir: str, *, stdout_to_stderr: bool,
        cwd: str | None = None,
    ) -> None:
        self.command = list(command)
        self.stderr_tail: collections.deque[str] = collections.deque(maxlen=STDERR_LINES)
        env = dict(os.environ, TRAINDOC_LOGDIR=os.path.abspath(logdir))  # a script may chdir
        try:
            self.proc = subprocess.Popen(
                self.command, env=env, start_new_session=True, cwd=cwd,
                stdin=subprocess.DEVNULL, stderr=subprocess.PIPE,
                stdout=sys.stderr if stdout_to_stderr else None,
            )
        except FileNotFoundError:
            if cwd is not None and not os.path.isdir(cwd):
                raise UserError(f"{cwd}: no such folder") from None
            raise UserError(f"{self.command[0]}: command not found") from None
        except PermissionError:
            raise UserError(f"{self.command[0]}: permission denied") from None
        except OSError as exc:
            raise UserError(f"{self.command[0]}: cannot start it ({exc.strerror or exc})") from None
        self.pgid = self.proc.pid  # a new session: the child leads its own group
        self._reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._reader.start()

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for raw in self.proc.stderr:
            self.stderr_tail.append(raw.decode(errors="replace").rstrip("\n"))

    def ending(self, code: int) -> tuple[str, str]:
        """(status, reason) of the script's own exit with ``code``: finished for 0, else
        failed with its last stderr line. (A stop the caller asked for is its to word.)"""
        if code == 0:
            return FINISHED, "the script exited with code 0"
        last = list(self.stderr_tail)[-1:]
        return FAILED, f"the script exited with code {code}" + (f": {last[0]}" if last else "")

    def poll(self) -> int | None:
        return self.proc.poll()

    def finish(self) -> int:
        """Wait for the exit (and the last stderr lines); its exit code."""
        code = self.proc.wait()
        self._reader.join(timeout=2.0)
        return code

    def stop(self) -> None:
        """End the whole process group: SIGINT, then SIGTERM, then SIGKILL."""
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
            if not self._signal(sig):
                break
            if self._wait_group(STOP_GRACE_SECONDS):
                break
        self.proc.wait()
        self._reader.join(timeout=2.0)

    def group_alive(self) -> bool:
        """Whether a process of the script's group is still there (a zombie leader aside)."""
        if self.proc.poll() is None:
            return True
        try:
            os.killpg(self.pgid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    def _signal(self, sig: int) -> bool:
        try:
            os.killpg(self.pgid, sig)
        except ProcessLookupError:
            return False
        return True

    def _wait_group(self, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if not self.group_alive():
                return True
            time.sleep(0.05)
        return not self.group_alive()
