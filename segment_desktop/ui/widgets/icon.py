"""The application icon: the packaged PNGs (rendered from the SVG by packaging/render_icons.py)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QIcon

import segment_desktop

SIZES = (16, 24, 32, 48, 64, 128, 256)
#: Qt opens these files itself, so they are real files beside the package's modules (in a
#: wheel and in a bundle alike). Found from the package's own path: importlib.resources
#: would import zipfile (with bz2 and lzma) for it, before the first window.
ICONS = Path(segment_desktop.__file__).parent / "resources" / "icons" / "hicolor"

_icon: QIcon | None = None


def app_icon() -> QIcon:
    """The icon in the usual sizes (the theme's ``segment-desktop`` icon wins if installed).

    Built once per process (the application and each window ask for it). The files are read
    when a size is first painted, so this costs nothing before the first window is shown.
    """
    global _icon
    if _icon is None:
        icon = QIcon()
        for size in SIZES:
            icon.addFile(str(ICONS / f"{size}x{size}" / "apps" / "segment-desktop.png"))
        _icon = QIcon.fromTheme("segment-desktop", icon)
    return QIcon(_icon)
