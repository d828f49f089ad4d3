"""How numbers, counts, config changes and rule documentation read to a user.

One place for the words every front end shows (the GUI's panels, the terminal's
text block, the Markdown report): numbers with 4 significant digits (``7.9e+19``,
never 20 digits), ratios as ``50x``, counts with the right plural ("1 epoch",
"2 epochs"), config values as a config file writes them (``true``, ``adamw``,
``[128, 128]``, never Python's ``True`` or ``'adamw'``), and a rule's documentation
as paragraphs that the display wraps at word boundaries.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

#: Ratios from 10 up to this print as whole numbers with thousands separators, at most
#: 4 significant digits (``1,234x``, ``110,000x``); larger ones as ``7.9e+19x``.
_WHOLE_RATIO_LIMIT = 1e9


def number(value: float) -> str:
    """A number in a sentence: 4 significant digits (``0.001``, ``2.29``, ``7.9e+19``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    value = float(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Inf" if value > 0 else "-Inf"
    return f"{value:.4g}"


def times(ratio: float) -> str:
    """A ratio as a multiple: ``2.5x``, ``50x``, ``1,234x``, ``110,000x``, ``7.94e+19x``."""
    ratio = float(ratio)
    if not math.isfinite(ratio):
        return f"{number(ratio)}x"
    if abs(ratio) < 10:
        return f"{ratio:.2g}x"
    if abs(ratio) < 10_000:
        return f"{ratio:,.0f}x"
    if abs(ratio) < _WHOLE_RATIO_LIMIT:
        return f"{float(f'{ratio:.3g}'):,.0f}x"  # 110,164 -> 110,000
    return f"{ratio:.3g}x"


def plural(count: int, word: str, many: str | None = None) -> str:
    """``1 epoch``, ``2 epochs``, ``0 epochs``; ``many`` for irregular plurals."""
    return f"{count:,} {word if count == 1 else (many or word + 's')}"


def config_value(value: Any) -> str:
    """A config value as a TOML file writes it: ``true``, ``0.001``, ``adamw``, ``[128, 128]``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return f"{value:.1f}"  # 1.0, as the config file writes a float
        return f"{value:.12g}"  # exact enough to show the patch applied (1e-05, 0.0001)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(config_value(v) for v in value) + "]"
    if hasattr(value, "item"):  # a numpy scalar
        return config_value(value.item())
    return str(value)


def patch_text(
    patch: Mapping[str, Any], before: Mapping[str, Any] | None = None, *, arrow: str = "->",
) -> str:
    """A config change in words: ``optim.lr 0.01 -> 0.001, train.early_stopping = true``.

    ``before`` is the run's flat config (dotted key -> value): a key it holds shows its
    old value and the arrow; a key it lacks shows ``key = value``.
    """
    parts = []
    for key, value in patch.items():
        if before is not None and before.get(key) is not None:
            parts.append(f"{key} {config_value(before[key])} {arrow} {config_value(value)}")
        else:
            parts.append(f"{key} = {config_value(value)}")
    return ", ".join(parts)


def doc_paragraphs(doc: str) -> list[tuple[str, str]]:
    """A rule's documentation as ``(heading, paragraph)`` pairs, each paragraph one line.

    The docstring's hard line breaks (at ~80 columns) are joined, so the display wraps
    the text at its own width, at word boundaries. A line ending in ``:`` with an
    indented block under it is a heading ("Why it matters:"); other paragraphs have
    an empty heading.
    """
    pairs: list[tuple[str, str]] = []
    heading, shown, words = "", False, []

    def close() -> None:
        nonlocal shown
        if words:
            pairs.append(("" if shown else heading, " ".join(words)))
            shown = bool(heading)
            words.clear()

    for line in doc.splitlines():
        text = line.strip()
        if not text:
            close()  # the heading holds for the next indented paragraph
            continue
        indented = line[:1].isspace()
        if not indented and text.endswith(":"):
            close()
            heading, shown = text[:-1], False
            continue
        if not indented and heading:  # the indented block has ended
            close()
            heading, shown = "", False
        words.append(text)
    close()
    return pairs


def doc_text(doc: str) -> str:
    """A rule's documentation reflowed: headings on their own line, one line a paragraph."""
    blocks = []
    for heading, paragraph in doc_paragraphs(doc):
        blocks.append(f"{heading}:\n{paragraph}" if heading else paragraph)
    return "\n\n".join(blocks)
