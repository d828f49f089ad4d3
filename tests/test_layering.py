"""SPEC §2 layering: engine and diagnostics load neither torch nor Qt on import."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Modules the GUI process imports: they must stay torch-free (and, for engine, Qt-free).
TORCH_FREE_ENGINE_MODULES = [
    "engine",
    "engine.config",
    "engine.events",
    "engine.rundir",
    "engine.launcher",
    "engine.worker",
    "engine.cli",
    "engine.cli_train",
    "engine.datasets",
    "engine.dataset_files",
    "engine.schedules",
    "engine.run_diagnosis",
    "engine.cli_diagnose",
    "engine.watch",
    "engine.tb.records",
    "engine.tb.wire",
    "engine.tb.writer",
    "engine.tb.reader",
    "engine.tb.discovery",
    "engine.tb.roles",
    "engine.tb.follow",
]


def loaded_after(imports: list[str]) -> set[str]:
    code = (
        "import importlib, sys\n"
        f"for name in {imports!r}: importlib.import_module(name)\n"
        "print(' '.join(sorted(m.split('.')[0] for m in sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return set(out.stdout.split())


def test_engine_imports_no_torch_and_no_qt():
    loaded = loaded_after(TORCH_FREE_ENGINE_MODULES)
    assert "torch" not in loaded
    assert "PySide6" not in loaded and "pyqtgraph" not in loaded


def test_diagnostics_imports_no_torch_and_no_qt():
    modules = sorted(
        ".".join(p.relative_to(ROOT).with_suffix("").parts)
        for p in (ROOT / "diagnostics").rglob("*.py")
    )
    modules = [m.removesuffix(".__init__") for m in modules]
    loaded = loaded_after(modules)
    assert "torch" not in loaded and "PySide6" not in loaded and "engine" not in loaded
