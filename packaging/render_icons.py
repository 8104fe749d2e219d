"""Render the application icon's PNG sizes from its SVG (run after editing the SVG).

    python packaging/render_icons.py

Writes ``segment_desktop/resources/icons/hicolor/<n>x<n>/apps/segment-desktop.png`` for every size
in ``SIZES``, the freedesktop hicolor layout, so installing them is a plain copy (see
``packaging/linux/README.md``). The PNGs are committed: neither the wheel build nor the bundle
needs Qt's SVG module at build time.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

SIZES = (16, 24, 32, 48, 64, 128, 256)
ICONS = Path(__file__).resolve().parent.parent / "segment_desktop" / "resources" / "icons"
SVG = ICONS / "hicolor" / "scalable" / "apps" / "segment-desktop.svg"


def png_path(size: int) -> Path:
    return ICONS / "hicolor" / f"{size}x{size}" / "apps" / "segment-desktop.png"


def render(renderer: QSvgRenderer, size: int) -> QImage:
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    return image.convertToFormat(QImage.Format.Format_ARGB32)


def main() -> int:
    _app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    renderer = QSvgRenderer(str(SVG))
    if not renderer.isValid():
        print(f"render_icons: {SVG} is not a valid SVG", file=sys.stderr)
        return 1
    for size in SIZES:
        target = png_path(size)
        target.parent.mkdir(parents=True, exist_ok=True)
        if not render(renderer, size).save(str(target)):
            print(f"render_icons: could not write {target}", file=sys.stderr)
            return 1
        print(target.relative_to(ICONS.parent.parent.parent))
    return 0


if __name__ == "__main__":
    sys.exit(main())
