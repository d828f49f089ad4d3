"""User errors share one base class: the command line and the training process both
recognise them by type (a subclass anywhere is a one-line error, exit 2)."""

from __future__ import annotations

from traindoc.engine.errors import UserError


def test_every_user_error_of_the_engine_is_a_user_error():
    from traindoc.engine.config import ConfigError
    from traindoc.engine.data.files import DataError
    from traindoc.engine.train.models import ModelError

    for cls in (ConfigError, DataError, ModelError):
        assert issubclass(cls, UserError) and issubclass(cls, ValueError)


def test_the_command_line_catches_them_as_one_line(capsys):
    from traindoc.engine.cli import main as cli
    from traindoc.engine.cli.exits import EXIT_BAD_INPUT

    assert cli.UserError is UserError
    code = cli.main(["train", "--set", "optim.lr=-1"])
    err = capsys.readouterr().err
    assert code == EXIT_BAD_INPUT
    assert err.count("\n") == 1 and "optim.lr" in err and "Traceback" not in err
