"""``python -m engine`` is ``traindoc``."""

import sys

try:
    from engine.cli import main
except KeyboardInterrupt:  # Ctrl-C while the command line itself is still loading
    print("traindoc: interrupted", file=sys.stderr)
    sys.exit(130)

sys.exit(main())
