"""The one base class of user errors: bad input that a line of text explains.

A ``UserError`` anywhere (a config value, a dataset file, a model that cannot fit
the data, a command-line argument) is printed as one line and exits with code 2,
never with a traceback: the command line catches it, and the training process
reports it as a user error. Torch-free, so every process can import it.
"""

from __future__ import annotations


class UserError(Exception):
    """Bad input from the user: printed as one line, exit code 2."""
