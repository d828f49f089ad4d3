"""Faults injected into ``traindoc`` subprocesses by tests (issue 10).

Put on PYTHONPATH with ``TRAINDOC_TEST_FAULT`` set; inherited by the spawned
training process too (same environment). Kinds:

- ``slow-summary``: the final summary waits (after touching ``TRAINDOC_TEST_MARKER``)
  so a test can press Ctrl-C during it;
- ``enospc-after=N``: the event file's N-th flush and every later one fail with
  ``ENOSPC``, as a full disk does.
"""

import os

_fault = os.environ.get("TRAINDOC_TEST_FAULT", "")

if _fault == "slow-summary":
    import time

    import traindoc.engine.cli.train

    def _slow_diagnosis(run_dir):
        with open(os.environ["TRAINDOC_TEST_MARKER"], "w") as f:
            f.write("summary")
        time.sleep(60)

    traindoc.engine.cli.train.print_diagnosis = _slow_diagnosis

elif _fault.startswith("enospc-after="):
    import errno

    from traindoc.engine.tb import writer as _writer

    _limit = int(_fault.split("=", 1)[1])
    _original_flush = _writer.EventFileOutput.flush
    _count = [0]

    def _flush(self):
        _count[0] += 1
        if _count[0] >= _limit:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        _original_flush(self)

    _writer.EventFileOutput.flush = _flush
