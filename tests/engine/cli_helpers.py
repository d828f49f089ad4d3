"""Running ``traindoc`` as a user does: a subprocess of ``python -m engine``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def traindoc(*args: str, cwd: Path, timeout: float = 220) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "traindoc", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
