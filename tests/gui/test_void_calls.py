"""SPEC §9: PySide6 6.12.0 on Python 3.11 drops a reference to None on every void Qt call.

After a few thousand such calls the interpreter aborts (``none_dealloc``). This test
makes ~10,000 void calls and checks that None's reference count does not fall, so
an upgrade that brings the bug back fails here instead of crashing users.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QTimer

CALLS = 10_000
SLACK = 50  # unrelated objects may come and go meanwhile; the bug loses ~1 per call


def test_void_qt_calls_keep_none_alive(qapp):
    timer = QTimer()
    timer.setInterval(1000)
    before = sys.getrefcount(None)
    for _ in range(CALLS // 2):
        timer.stop()  # void
        timer.setInterval(1000)  # void
    after = sys.getrefcount(None)
    assert after >= before - SLACK, f"None lost {before - after} references in {CALLS} void calls"
