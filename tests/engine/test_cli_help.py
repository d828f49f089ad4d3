"""Every command's --help speaks to users: exit codes where a command has its own, and
no internal words (issue 12, items 13 and 17)."""

from __future__ import annotations

import pytest

from traindoc.engine.cli.main import build_parser, main

COMMANDS = ["train", "diagnose", "lr-find", "batch-find"]
INTERNAL = ["seed's", "the seed", "SPEC", "§"]


def help_text(capsys, *argv: str) -> str:
    with pytest.raises(SystemExit) as done:
        main([*argv, "--help"])
    assert done.value.code == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("command", COMMANDS)
def test_help_has_no_internal_words(capsys, command):
    text = help_text(capsys, command)
    for word in INTERNAL:
        assert word not in text, (command, word)


def test_top_level_help_has_no_internal_words():
    text = build_parser().format_help()
    for word in INTERNAL:
        assert word not in text


def test_finders_document_the_exit_code_when_nothing_can_be_suggested(capsys):
    lr = " ".join(help_text(capsys, "lr-find").split())
    assert "1 no rate can be suggested" in lr and "nothing is written" in lr
    batch = " ".join(help_text(capsys, "batch-find").split())
    assert "1 nothing can be recommended" in batch and "not even a batch of 1 fits" in batch


def test_train_documents_fail_on(capsys):
    text = " ".join(help_text(capsys, "train").split())
    assert "--fail-on {error,warning}" in text and "(default: error)" in text
