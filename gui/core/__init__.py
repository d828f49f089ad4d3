"""The app's Qt-free core: state, series buffers, reduction for plotting, fix
lineage and presets. Views and Qt models build on it; nothing here imports Qt.
"""
