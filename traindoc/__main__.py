"""``python -m traindoc`` and the ``traindoc`` command: the app or a command line job.

The entry point sits above the three parts: it hands the command line the app's
opener, so that ``engine`` never imports ``gui``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence


def open_app(paths: Sequence[str]) -> int:
    from traindoc.gui.app import main as app_main

    return app_main(list(paths))


def main(argv: Sequence[str] | None = None) -> int:
    from traindoc.engine.cli.main import main as cli_main

    return cli_main(argv, open_app=open_app)


if __name__ == "__main__":
    try:
        from traindoc.engine.cli import main as _loaded  # noqa: F401  (Ctrl-C while loading)
    except KeyboardInterrupt:
        print("traindoc: interrupted", file=sys.stderr)
        sys.exit(130)
    sys.exit(main())
