"""README's configuration table lists every config key with its real default."""

from __future__ import annotations

import json
import re
from pathlib import Path

from traindoc.engine import config as cfg

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_table() -> dict[str, str]:
    rows = re.findall(r"^\| `([\w.]+)` \| `([^`]*)` \|", README.read_text(encoding="utf-8"), re.M)
    return dict(rows)


def test_every_key_is_documented_with_its_default():
    table = readme_table()
    defaults = cfg.flatten(cfg.RunConfig())
    assert set(table) == set(defaults)
    for key, value in defaults.items():
        shown = json.dumps(list(value) if isinstance(value, tuple) else value)
        shown = shown.replace('"', "").replace(",", ", ").replace(",  ", ", ")
        assert table[key] == shown, (key, table[key], shown)
