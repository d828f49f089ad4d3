"""``diagnostics`` is pure analysis: numpy only (SPEC §2); rules are documented."""

from __future__ import annotations

import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import diagnostics
from diagnostics.registry import ALL_RULES, explain

ROOT = Path(diagnostics.__file__).resolve().parent


def test_import_loads_neither_torch_nor_qt():
    modules = sorted(m.name for m in pkgutil.walk_packages([str(ROOT)], "diagnostics."))
    assert "diagnostics.rules.nan_loss" in modules
    code = (
        "import sys, importlib\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        "('torch', 'PySide6', 'pyqtgraph', 'engine', 'gui', 'tensorboard')]\n"
        "print(bad)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT.parent, check=True)
    assert out.stdout.strip() == "[]"


def test_no_file_io_or_print_in_diagnostics():
    pattern = re.compile(r"\bopen\(|\bprint\(|Path\(|import os\b|import pathlib")
    for path in ROOT.rglob("*.py"):
        if path.name == "snippets.py":
            continue  # code for users to paste, as text
        assert not pattern.search(path.read_text()), path


def test_rules_are_documented_and_unique():
    ids = [r.id for r in ALL_RULES]
    assert ids == ["nan-loss", "divergence", "metric-mismatch", "overfitting", "oscillation",
                   "underfitting", "slow-descent", "grad-explosion"]
    for rule in ALL_RULES:
        doc = explain(rule.id)
        for section in ("What it detects:", "Why it matters:", "Example:", "Remedies:"):
            assert section in doc, (rule.id, section)


def test_modules_are_small():
    for path in ROOT.rglob("*.py"):
        assert len(path.read_text().splitlines()) < 400, path


def test_rules_never_import_each_other():
    """Each rule file reads on its own, like a linter rule: shared facts live in
    ``diagnostics.facts``, numeric primitives in ``signals`` and ``trend``."""
    allowed = {"diagnostics", "diagnostics.facts", "diagnostics.blowups",
               "diagnostics.learning", "diagnostics.rules.base",
               "diagnostics.signals", "diagnostics.trend", "diagnostics.types",
               "diagnostics.summary"}
    imports = re.compile(r"^\s*(?:from|import) (diagnostics[\w.]*)", re.M)
    rules = [p for p in (ROOT / "rules").glob("*.py") if p.name not in ("__init__.py", "base.py")]
    assert len(rules) == len(ALL_RULES)
    for path in rules:
        used = set(imports.findall(path.read_text()))
        assert used <= allowed, (path.name, used - allowed)
