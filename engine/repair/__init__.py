"""The automatic repair loop, "fix until healthy" (``traindoc train --auto-fix``).

:class:`~traindoc.engine.repair.session.RepairSession` runs it; the decisions are
:mod:`traindoc.diagnostics.repair_policy`'s; :mod:`~traindoc.engine.repair.runs` is
what it runs (``traindoc train`` configs); :mod:`~traindoc.engine.repair.text` and
:mod:`~traindoc.engine.repair.report` word the outcome and write ``repair.md``.
Importing it loads neither torch nor Qt.
"""
