"""Doing something once a window's first paint is on screen, at no cost to the paints after.

A Python ``paintEvent`` override would see the first paint too, but it runs on every repaint
of the window (a child's repaint paints its parents' background as well), and each run takes
the GIL, which the relay's threads in the same process may be holding: the GUI thread would
wait for them on every frame. This watcher is an event filter that removes itself at the first
paint, so the repaints after it run no Python at all.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QWidget


class _FirstPaint(QObject):
    def __init__(self, widget: QWidget, then: Callable[[], None]) -> None:
        super().__init__(widget)
        self._then = then
        widget.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            watched.removeEventFilter(self)
            QTimer.singleShot(0, self, self._then)  # once this paint is on screen
        return False


def after_first_paint(widget: QWidget, then: Callable[[], None]) -> None:
    """Call ``then`` on the GUI thread right after ``widget``'s first paint is on screen
    (never, if the widget is deleted first)."""
    _FirstPaint(widget, then)
