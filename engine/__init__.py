"""traindoc's engine: everything about runs, torch-free except ``train`` and ``find.finders``.

Where things live:

- ``config`` (+ ``config_values``, ``config_limits``): the run config (SPEC §6),
  TOML in and out, ``--set`` overrides, validation and the parameter budget;
- ``events``: what a training process tells its parent, and the run statuses;
- ``launcher`` (``RunHandle``: a run in a background process), ``worker`` (that
  process's entry), ``drive`` (``RunDriver``: the one loop that polls and stops a
  handle, for the CLI and the GUI's pump);
- ``rundir``: run folders, ``status.json``, ``parent.json`` (fix lineage), atomic writes;
- ``watch`` + ``live_run``: the one live follower of log folders (``diagnose
  --watch`` and the GUI's opened logs); ``run_diagnosis``: logs to diagnoses;
- ``train/``: the training loop, models, optimizers, schedules (torch);
- ``data/``: datasets, the bundled digits and file readers;
- ``find/``: the learning-rate range test and batch-size search;
- ``tb/``: TensorBoard event files read and written without TensorFlow;
- ``cli/``: the ``traindoc`` command line, one module per command.

Importing this package, or any module outside ``train`` and ``find.finders``, loads
neither torch nor Qt (pyproject's import-linter contracts).
"""
