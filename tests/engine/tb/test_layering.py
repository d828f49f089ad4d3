"""engine.tb loads neither torch nor Qt (the GUI process imports it)."""

from __future__ import annotations

import subprocess
import sys

from .helpers import REPO


def test_engine_tb_imports_no_torch_or_qt():
    code = (
        "import sys\n"
        "import engine.tb.writer, engine.tb.reader, engine.tb.follow, engine.tb.roles\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('torch', 'PySide6', 'tensorflow')]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True)
