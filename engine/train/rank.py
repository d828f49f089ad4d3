"""What ``torchrun`` starts in each process of a distributed run:
``python -m torch.distributed.run … -m traindoc.engine.train.rank RUN_DIR``.

The worker process (:mod:`traindoc.engine.ddp_relay`) passes, in the environment,
the address and key of its relay (a ``multiprocessing.connection.Listener`` on
127.0.0.1) and the device kind it chose. The rank with ``LOCAL_RANK`` 0 connects
to it, sends the events the loop emits (the ones the worker's queue carried for a
single process) and its final ``Finished`` or ``Failed``, and hears a stop request
over the same connection; the other ranks send nothing.

Each rank dies with ``torchrun`` (Linux's parent-death signal), so no rank outlives
a ``torchrun`` killed by the worker, or the worker's own death.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import runpy
import signal
import sys
import threading
import traceback
from multiprocessing.connection import Client
from pathlib import Path
from typing import Any

ADDRESS_ENV = "TRAINDOC_RELAY_ADDRESS"  # HOST:PORT of the worker's listener
KEY_ENV = "TRAINDOC_RELAY_KEY"  # its authkey, hex
DEVICE_ENV = "TRAINDOC_DDP_DEVICE"  # "cuda", "cuda:N" or "cpu", chosen by the worker
STOP_MESSAGE = "stop"
WORKER_PID_ENV = "TRAINDOC_TORCHRUN_PARENT"  # the worker's PID, for torchrun's death watch
TORCHRUN_FLAG = "--torchrun"
PR_SET_PDEATHSIG = 1


def die_with_parent(sig: int = signal.SIGKILL) -> None:
    """Linux: ``sig`` when our parent dies (no-op elsewhere). Callable in a
    ``preexec_fn`` too, where it runs between fork and exec."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)


class Relay:
    """This rank's end of the connection to the worker (rank-local 0 only)."""

    def __init__(self) -> None:
        self.conn: Any = None
        self.stop = threading.Event()
        self.lock = threading.Lock()

    def connect(self) -> None:
        host, _, port = os.environ[ADDRESS_ENV].rpartition(":")
        self.conn = Client((host, int(port)), authkey=bytes.fromhex(os.environ[KEY_ENV]))
        threading.Thread(target=self._listen, name="traindoc-relay", daemon=True).start()

    def _listen(self) -> None:
        with contextlib.suppress(EOFError, OSError):
            while self.conn.recv() != STOP_MESSAGE:
                pass
        self.stop.set()  # a stop request, or the worker is gone: stop either way

    def __call__(self, event: Any) -> None:
        if self.conn is None:
            return
        with self.lock:
            self.conn.send(event)

    def close(self) -> None:
        if self.conn is not None:
            with contextlib.suppress(OSError):
                self.conn.close()


def torchrun(args: list[str]) -> int:
    """``torch.distributed.run`` with ``args``, in a process that dies with the worker
    (SIGTERM: torchrun then ends its ranks) and ignores Ctrl-C (the worker's business)."""
    die_with_parent(signal.SIGTERM)
    if str(os.getppid()) != os.environ.get(WORKER_PID_ENV, str(os.getppid())):
        return 1  # the worker died before prctl took effect
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sys.argv = ["torchrun", *args]
    runpy.run_module("torch.distributed.run", run_name="__main__", alter_sys=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    """One rank: join the group, train, report; 0 when the run ended on its terms.
    (``--torchrun ARGS…``: :func:`torchrun` instead.)"""
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] == TORCHRUN_FLAG:
        return torchrun(args[1:])
    parent = os.getppid()
    die_with_parent()
    if os.getppid() != parent:  # torchrun died before prctl took effect
        return 1
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the worker's business
    run_dir = Path(args[0])
    relay = Relay()
    if int(os.environ.get("LOCAL_RANK", "0")) == 0:
        relay.connect()
    started = False

    def emit(event: Any) -> None:
        nonlocal started
        started = True
        relay(event)

    from traindoc.engine import config as config_module
    from traindoc.engine.train import distributed
    from traindoc.engine.train.failures import failure_event

    try:
        config = config_module.loads((run_dir / "config.toml").read_text(encoding="utf-8"),
                                     source=str(run_dir / "config.toml"))
        place = distributed.Place.from_env(os.environ.get(DEVICE_ENV, "cpu"))
        distributed.init_group(place)
        finished = distributed.run_rank(config, run_dir, emit=emit,
                                        should_stop=relay.stop.is_set, place=place)
        relay(finished)
        return 0
    except BaseException as exc:  # reported to the worker, then torchrun ends the others
        if relay.conn is None:  # a rank that reports nothing: torchrun's log shows why
            traceback.print_exc()
        relay(failure_event(exc, run_dir, started=started))
        return 1
    finally:
        distributed.leave_group()
        relay.close()


if __name__ == "__main__":
    sys.exit(main())
