"""Rule files: documented, unique ids, no file I/O (imports: pyproject's import contracts)."""

from __future__ import annotations

import re
from pathlib import Path

import traindoc.diagnostics
from traindoc.diagnostics.registry import ALL_RULES, explain

ROOT = Path(traindoc.diagnostics.__file__).resolve().parent


def test_no_file_io_or_print_in_diagnostics():
    pattern = re.compile(r"\bopen\(|\bprint\(|Path\(|import os\b|import pathlib")
    for path in ROOT.rglob("*.py"):
        if path.name == "snippets.py":
            continue  # code for users to paste, as text
        assert not pattern.search(path.read_text()), path


def test_rules_are_documented_and_unique():
    ids = [r.id for r in ALL_RULES]
    assert ids == ["nan-loss", "divergence", "metric-mismatch", "overfitting", "oscillation",
                   "grad-explosion", "underfitting", "slow-descent"]
    for rule in ALL_RULES:
        doc = explain(rule.id)
        for section in ("What it detects:", "Why it matters:", "Example:", "Remedies:"):
            assert section in doc, (rule.id, section)
