"""The tree stays readable: small files everywhere, short functions in engine and diagnostics.

(The layering itself is pyproject's import-linter contracts, run by ``.ci/run``.)
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PARTS = ("engine", "diagnostics", "gui", "traindoc")
MAX_FILE_LINES = 400
MAX_FUNCTION_LINES = 80


def sources(*parts: str) -> list[Path]:
    return sorted(p for part in parts for p in (ROOT / part).rglob("*.py"))


def test_the_parts_hold_sources():
    assert len(sources(*PARTS)) >= 90


@pytest.mark.parametrize("path", sources(*PARTS), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_source_file_over_400_lines(path: Path):
    assert len(path.read_text(encoding="utf-8").splitlines()) <= MAX_FILE_LINES


def long_functions(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            length = node.end_lineno - node.lineno + 1
            if length > MAX_FUNCTION_LINES:
                found.append(f"{node.name} ({length} lines)")
    return found


def test_long_functions_are_found():
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES))
    probe = ROOT / "tests" / "__probe_long.py"
    try:
        probe.write_text(f"def long():\n{body}\n", encoding="utf-8")
        assert long_functions(probe) == [f"long ({MAX_FUNCTION_LINES + 1} lines)"]
    finally:
        probe.unlink()


@pytest.mark.parametrize(
    "path", sources("engine", "diagnostics"), ids=lambda p: str(p.relative_to(ROOT))
)
def test_no_function_over_80_lines_in_engine_and_diagnostics(path: Path):
    assert long_functions(path) == []
