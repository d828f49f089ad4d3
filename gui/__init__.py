"""traindoc desktop app (PySide6 + pyqtgraph). Never imports torch."""
