"""The learning-rate range test and the batch-size search (SPEC §7).

- ``finders/``: the torch part, run only in the finder's process (sweep, memory
  probe, batch search);
- ``suggest``: the suggestion and batch-size maths (numpy only);
- ``results``: what a finder found, typed and torch-free, with ``patch()``;
- ``worker``: the process targets for :class:`traindoc.engine.launcher.RunHandle`;
- ``plot``: the lr-find PNG, drawn by a subprocess (``traindoc.gui.lr_plot``).
"""
