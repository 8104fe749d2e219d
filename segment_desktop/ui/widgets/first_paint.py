"""Doing something once a window's first paint is on screen, at no cost to the paints after.

A Python ``paintEvent`` override on the window would see the first paint too, but it runs on
every repaint of the window (a child's repaint paints its parents' background as well), and
each run takes the GIL, which the relay's threads in the same process may be holding: the GUI
thread would wait for them on every frame. Here a one-pixel, transparent child in the window's
corner is painted with the window's first paint, says so, and deletes itself: the repaints
after it run no Python at all.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QTimer
from PySide6.QtGui import QPaintEvent
from PySide6.QtWidgets import QWidget


class _FirstPaint(QWidget):
    def __init__(self, window: QWidget, then: Callable[[], None]) -> None:
        super().__init__(window)
        self._window = window
        self._then: Callable[[], None] | None = then
        self.setGeometry(0, 0, 1, 1)
        self.raise_()  # above the children made so far, so none can hide it

    def paintEvent(self, event: QPaintEvent) -> None:  # draws nothing
        then, self._then = self._then, None
        if then is not None:
            QTimer.singleShot(0, self._window, then)  # once this paint is on screen
            self.deleteLater()


def after_first_paint(window: QWidget, then: Callable[[], None]) -> None:
    """Call ``then`` on the GUI thread right after ``window``'s first paint is on screen
    (call it once the window's children are made; never called if the window is deleted
    first)."""
    _FirstPaint(window, then)
