"""The app's Qt-free core: state, series buffers, reduction for plotting, the fix
loop's wiring (lineage), the config form's draft and presets. Views and Qt models
(``traindoc.gui.model``, ``traindoc.gui.config_draft``) build on it; nothing here imports Qt.
"""
