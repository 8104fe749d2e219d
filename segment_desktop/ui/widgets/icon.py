"""The application icon, drawn in code so the app needs no image file to look finished."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QIcon, QPainter, QPainterPath, QPen, QPixmap

SIZES = (16, 24, 32, 48, 64, 128, 256)

_icon: QIcon | None = None


def _draw(size: int) -> QPixmap:
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    s = float(size)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QBrush(QColor("#2f6b5b")))
    painter.drawRoundedRect(QRectF(0.04 * s, 0.04 * s, 0.92 * s, 0.92 * s), 0.2 * s, 0.2 * s)
    pen = QPen(QColor("#ffffff"), max(1.5, 0.09 * s))
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    painter.setPen(pen)
    path = QPainterPath(QPointF(0.24 * s, 0.36 * s))
    path.lineTo(0.62 * s, 0.36 * s)
    painter.drawPath(path)
    path = QPainterPath(QPointF(0.38 * s, 0.64 * s))
    path.lineTo(0.76 * s, 0.64 * s)
    painter.drawPath(path)
    painter.setBrush(QBrush(QColor("#9ee6c8")))
    painter.setPen(Qt.PenStyle.NoPen)
    r = 0.08 * s
    painter.drawEllipse(QPointF(0.72 * s, 0.36 * s), r, r)
    painter.drawEllipse(QPointF(0.28 * s, 0.64 * s), r, r)
    painter.end()
    return pixmap


def app_icon() -> QIcon:
    """The icon in the usual sizes (the theme's ``segment-desktop`` icon wins if installed).

    Drawn once per process (the application and each window ask for it); needs a
    ``QGuiApplication``, like every pixmap.
    """
    global _icon
    if _icon is None:
        icon = QIcon()
        for size in SIZES:
            icon.addPixmap(_draw(size))
        _icon = QIcon.fromTheme("segment-desktop", icon)
    return QIcon(_icon)
