"""The desktop app (PySide6 + pyqtgraph); never imports torch.

- ``core/``: the Qt-free core (state, series buffers, plot reduction, fix lineage,
  config draft, presets);
- ``model`` and ``config_draft``: Qt models over the core (signals);
- ``launch`` (runs the app started), ``logs`` (logs opened and followed live),
  ``diagnosis`` (launched runs' diagnoses), ``pump`` (one timer drains them all);
- ``main_window``, ``menus``, ``widgets/``, ``dialogs/``: the views; ``export``,
  ``lr_plot``: files and drawings.
"""
