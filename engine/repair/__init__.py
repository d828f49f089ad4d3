"""The automatic repair loop, "fix until healthy" (``traindoc train --auto-fix``).

:class:`~traindoc.engine.repair.session.RepairSession` runs it; the decisions are
:mod:`traindoc.diagnostics.repair_policy`'s; :mod:`~traindoc.engine.repair.runs` is
what it runs (``traindoc train`` configs); :mod:`~traindoc.engine.repair.text` and
:mod:`~traindoc.engine.repair.report` word the outcome and write ``repair.md``.
Importing it loads neither torch nor Qt.

Driving it from an app: build ``RepairSession(config, logdir, first_run=RUN_DIR,
on_run_events=...)`` for a run that already ended, iterate :meth:`events` on a worker
thread and hand each record to the UI thread (``AttemptStarted``: a new child, its
parent and patch, to add to the lineage tree; ``AttemptEnded``: its verdict;
``RepairEnded``: the result and report). ``on_run_events(index, events)`` carries the
running attempt's metrics (epochs for a progress bar, points for its charts);
:meth:`RepairSession.stop` may be called from any thread and ends the running attempt
cleanly.
"""
