"""`traindoc train --auto-fix` options, parsed without running anything."""

from __future__ import annotations

import pytest

from traindoc.engine.cli import autofix
from traindoc.engine.cli.main import build_parser
from traindoc.engine.errors import UserError


def parse(*argv: str):
    args = build_parser().parse_args(["train", *argv])
    return args, autofix.requested(args)


def test_plain_train_does_not_repair_and_json_needs_auto_fix():
    assert parse()[1] is False
    with pytest.raises(UserError, match="--json goes with --auto-fix"):
        parse("--json")


@pytest.mark.parametrize(("argv", "attempts", "config"), [
    (["--auto-fix"], "4", None),
    (["--auto-fix", "2"], "2", None),
    (["cfg.toml", "--auto-fix"], "4", "cfg.toml"),
    (["--auto-fix", "cfg.toml"], "4", "cfg.toml"),  # the optional N took the config
    (["--auto-fix-time", "2.5"], None, None),
])
def test_auto_fix_takes_an_optional_number_of_attempts(argv, attempts, config):
    args, wanted = parse(*argv)
    assert wanted is True and args.auto_fix == attempts and args.config == config


@pytest.mark.parametrize(("argv", "words"), [
    (["a.toml", "--auto-fix", "b.toml"], "--auto-fix b.toml: expected a number of attempts"),
    (["--auto-fix", "101"], "at most 100 attempts"),
    (["--auto-fix-time", "0"], "--auto-fix-time 0: expected minutes > 0"),
    (["--auto-fix-time", "nan"], "expected minutes > 0"),
])
def test_bad_auto_fix_values_are_one_line_errors(argv, words):
    with pytest.raises(UserError, match=words.replace("+", r"\+")):
        parse(*argv)


def test_help_describes_the_repair_and_its_exit_codes(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "--auto-fix [N]" in out and "--auto-fix-time MINUTES" in out
    assert "fix until healthy" in out and "final run: DIR" in out
