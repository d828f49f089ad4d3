"""CSV export: text cells that a spreadsheet would run as formulas are escaped (issue 10,
item 10); numbers, negative ones included, stay numbers."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from tests.gui.conftest import add_run
from traindoc.gui import export

DANGEROUS = ["=1+1", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)", "\tx", "\rx",
             "=HYPERLINK(\"http://e.x\",\"y\")"]


@pytest.mark.parametrize("text", DANGEROUS)
def test_text_cell_escapes_formula_starts(text):
    assert export.text_cell(text) == "'" + text


@pytest.mark.parametrize("text", ["train/loss", "run-1", "a=b", "", "loss+acc", " =x"])
def test_text_cell_leaves_ordinary_text(text):
    assert export.text_cell(text) == text


def read(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def test_names_and_tags_are_escaped_numbers_are_not(model, tmp_path):
    run = add_run(
        model, "=cmd|' /C calc'!A0",
        roles={"train_loss": "-loss"},
        points={"-loss": ([1, 2, 3], [-0.5, 1e-300, -np.inf]),
                "@tag": ([-4], [-2.0]),
                "+x\tx": ([0], [np.nan])},
    )
    rows = export.scalars_csv(model, [run.id], tmp_path / "s.csv")
    table = read(tmp_path / "s.csv")
    assert rows == 5 and table[0] == ["run", "tag", "role", "step", "value"]
    body = table[1:]
    assert {r[0] for r in body} == {"'=cmd|' /C calc'!A0"}
    assert [r[1] for r in body] == ["'-loss"] * 3 + ["'@tag", "'+x\tx"]
    assert [r[2] for r in body] == ["train_loss"] * 3 + ["", ""]
    assert [r[3] for r in body] == ["1", "2", "3", "-4", "0"]
    assert [r[4] for r in body] == ["-0.5", "1e-300", "-inf", "-2.0", "nan"]
    # the numeric columns read back as numbers, exactly
    values = [float(r[4]) for r in body]
    np.testing.assert_array_equal(values, [-0.5, 1e-300, -np.inf, -2.0, np.nan])
    assert [int(r[3]) for r in body] == [1, 2, 3, -4, 0]
    # every text cell is safe: none starts with a formula character
    for r in body:
        for cell in r[:3]:
            assert not cell.startswith(export.FORMULA_STARTS), cell


def test_a_carriage_return_name_survives_the_round_trip(model, tmp_path):
    run = add_run(model, "\rrun", points={"t": ([1], [0.25])})
    export.scalars_csv(model, [run.id], tmp_path / "s.csv")
    assert read(tmp_path / "s.csv")[1] == ["'\rrun", "t", "", "1", "0.25"]
