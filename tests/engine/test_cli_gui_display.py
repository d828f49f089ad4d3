"""`traindoc gui` without a display: one line and exit 2, not Qt's xcb abort (issue 12,
item 18)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from traindoc.engine.cli.display import NO_DISPLAY, display_problem

from .cli_helpers import ROOT


@pytest.mark.parametrize(
    "environ",
    [
        {"DISPLAY": ":0"},
        {"WAYLAND_DISPLAY": "wayland-0"},
        {"QT_QPA_PLATFORM": "offscreen"},
        {"QT_QPA_PLATFORM": "minimal"},
        {"QT_QPA_PLATFORM": "eglfs"},
        {"QT_QPA_PLATFORM": "xcb", "DISPLAY": ":1"},
        {"QT_QPA_PLATFORM": "wayland;xcb", "DISPLAY": ":1"},
        {"QT_QPA_PLATFORM": "vnc:size=800x600"},
    ],
)
def test_a_window_can_open(environ):
    assert display_problem(environ, "linux") is None


@pytest.mark.parametrize(
    "environ",
    [
        {},
        {"DISPLAY": ""},
        {"QT_QPA_PLATFORM": "xcb"},
        {"QT_QPA_PLATFORM": "xcb", "WAYLAND_DISPLAY": "wayland-0"},
        {"QT_QPA_PLATFORM": "wayland", "DISPLAY": ":0"},
        {"QT_QPA_PLATFORM": "wayland;xcb"},
    ],
)
def test_no_display_is_named(environ):
    assert display_problem(environ, "linux") == NO_DISPLAY


def test_only_linux_and_bsd_need_a_display_server():
    assert display_problem({}, "darwin") is None
    assert display_problem({}, "win32") is None
    assert display_problem({}, "freebsd14") == NO_DISPLAY


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a Linux display server")
@pytest.mark.parametrize("args", [["gui"], [], ["gui", "."]])
def test_traindoc_gui_without_a_display_exits_2_with_one_line(tmp_path, args):
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env["PYTHONPATH"] = str(ROOT)
    result = subprocess.run([sys.executable, "-m", "traindoc", *args], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "traindoc gui: no display: set DISPLAY, or QT_QPA_PLATFORM=offscreen for tests"
    ]
