"""The application icon: the packaged PNGs (rendered from the SVG by packaging/render_icons.py)."""

from __future__ import annotations

from importlib.resources import as_file, files

from PySide6.QtGui import QIcon

SIZES = (16, 24, 32, 48, 64, 128, 256)

_icon: QIcon | None = None


def app_icon() -> QIcon:
    """The icon in the usual sizes (the theme's ``segment-desktop`` icon wins if installed).

    Built once per process (the application and each window ask for it). The files are read
    when a size is first painted, so this costs nothing before the first window is shown.
    """
    global _icon
    if _icon is None:
        icon = QIcon()
        icons = files("segment_desktop.resources") / "icons" / "hicolor"
        for size in SIZES:
            # Package files are real files in a wheel or a bundle: as_file returns the path.
            with as_file(icons / f"{size}x{size}" / "apps" / "segment-desktop.png") as path:
                icon.addFile(str(path))
        _icon = QIcon.fromTheme("segment-desktop", icon)
    return QIcon(_icon)
