"""Whether the desktop app can open a window here, asked before Qt is loaded.

Without a display Qt aborts the process with a message about the ``xcb`` plugin that
sends a user looking for missing libraries; ``traindoc gui`` says instead, in one line,
that there is no display and what to set.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

NO_DISPLAY = "no display: set DISPLAY, or QT_QPA_PLATFORM=offscreen for tests"

# Qt platform plugins that need a display server, and the variable that names it.
_SERVER_OF = {"xcb": "DISPLAY", "wayland": "WAYLAND_DISPLAY", "wayland-egl": "WAYLAND_DISPLAY"}


def display_problem(
    environ: Mapping[str, str] | None = None, platform: str | None = None
) -> str | None:
    """Why no window can open (``NO_DISPLAY``), or None when one can (or we cannot tell).

    Only Linux and the BSDs need a display server; there, a window needs ``DISPLAY``
    (X11) or ``WAYLAND_DISPLAY``, unless ``QT_QPA_PLATFORM`` picks a plugin that needs
    none (``offscreen``, ``minimal``, ``eglfs``, ``linuxfb``, ``vnc``...). A list of
    plugins (``wayland;xcb``) works when any of them does.
    """
    environ = os.environ if environ is None else environ
    platform = sys.platform if platform is None else platform
    if not platform.startswith(("linux", "freebsd", "openbsd", "netbsd")):
        return None
    chosen = environ.get("QT_QPA_PLATFORM", "").strip()
    plugins = [p.split(":", 1)[0].strip() for p in chosen.split(";") if p.strip()]
    if not plugins:  # Qt's default: Wayland when its server is named, else X11
        plugins = ["wayland", "xcb"]
    for plugin in plugins:
        server = _SERVER_OF.get(plugin)
        if server is None or environ.get(server, "").strip():
            return None
    return NO_DISPLAY
