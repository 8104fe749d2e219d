"""Screenshots of every screen of the main window, with the sandbox and its relay running.

    python scripts/dashboard_screenshots.py OUTPUT_DIR [--dark] [--suffix -dark]

Run it under a display (``scripts/screenshots`` starts Xvfb; ``QT_QPA_PLATFORM=offscreen``
works too) and with ``QT_SCALE_FACTOR=2`` for the high-DPI set. It fires sample events as a user
would (one of them fails its template, so What needs me has a row), then saves the overview,
the delivery log with a delivery selected, the integrations, the sandbox tab, the template fix
replayed, and the Re-register and Import settings confirmations.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

# Private folders: the screenshots never touch a real configuration.
_WORK = Path(tempfile.mkdtemp(prefix="dashboard-shots-"))
for _name in ("CONFIG", "DATA", "LOG"):
    os.environ[f"SEGMENT_DESKTOP_{_name}_DIR"] = str(_WORK / _name.lower())

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtGui import QColor, QPalette  # noqa: E402
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget  # noqa: E402


def dark_palette() -> QPalette:
    palette = QPalette()
    colours = {
        QPalette.ColorRole.Window: "#2b2d31",
        QPalette.ColorRole.WindowText: "#e6e6e6",
        QPalette.ColorRole.Base: "#1e1f22",
        QPalette.ColorRole.AlternateBase: "#26282c",
        QPalette.ColorRole.Text: "#e6e6e6",
        QPalette.ColorRole.Button: "#34363b",
        QPalette.ColorRole.ButtonText: "#e6e6e6",
        QPalette.ColorRole.Highlight: "#3d6fd1",
        QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.ToolTipBase: "#34363b",
        QPalette.ColorRole.ToolTipText: "#e6e6e6",
        QPalette.ColorRole.PlaceholderText: "#8a8f98",
        QPalette.ColorRole.Mid: "#4a4d53",
        QPalette.ColorRole.Link: "#7aa7ff",
    }
    for role, colour in colours.items():
        palette.setColor(role, QColor(colour))
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text,
                 QPalette.ColorRole.ButtonText):  # fmt: skip
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor("#7d828a"))
    return palette


def open_question(window: QWidget) -> QMessageBox:
    """The confirmation the window opened (it asks without blocking)."""
    boxes = [b for b in window.findChildren(QMessageBox) if b.isVisible()]
    if not boxes:
        raise SystemExit("no confirmation is open")
    return boxes[-1]


BROKEN = '{"type": "track", "userId": payload.data.id}'


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--dark", action="store_true", help="the dark colour scheme")
    parser.add_argument("--suffix", default="", help="appended to each file name")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    app = QApplication(sys.argv[:1])
    app.setStyle("Fusion")
    if args.dark:
        # What a desktop in dark mode hands Qt: ask for the dark scheme, and where the platform
        # theme cannot give one (bare X, no desktop), set the same colours directly.
        app.styleHints().setColorScheme(Qt.ColorScheme.Dark)
        if app.palette().color(QPalette.ColorRole.Window).lightness() > 128:
            app.setPalette(dark_palette())

    from segment_desktop.core.config import CommerceSettings, Config, ConfigStore, SegmentSettings
    from segment_desktop.core.flow import Draft
    from segment_desktop.core.secrets import COMMERCE_CLIENT_SECRET, SEGMENT_WRITE_KEY
    from segment_desktop.sandbox.runner import Sandbox
    from segment_desktop.services import MemorySecrets, Services
    from segment_desktop.ui.main_window import MainWindow

    def pump(seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            app.processEvents()
            time.sleep(0.01)

    def shot(widget: QWidget, name: str) -> None:
        pump(0.4)
        path = args.out / f"{name}{args.suffix}.png"
        widget.grab().save(str(path))
        print("saved", path)

    sandbox = Sandbox.start()
    services = Services(config_store=ConfigStore(), secrets=MemorySecrets(), sandbox=sandbox)
    try:
        services.secrets.set(COMMERCE_CLIENT_SECRET, sandbox.client_secret)
        services.secrets.set(SEGMENT_WRITE_KEY, sandbox.write_key)
        config = Config.default()
        config.commerce = CommerceSettings(
            client_id=sandbox.client_id, base_url=sandbox.commerce_url
        )
        config.segment = SegmentSettings(host=sandbox.segment_url)
        config.relay_url = services.sandbox_relay_url()
        config.sandbox = True
        config.template_overrides["order_cancelled"] = BROKEN
        config = services.register(Draft(config, sandbox.client_secret, sandbox.write_key))
        services.save(config)
        services.start_relay(config)

        window = MainWindow(services, config)
        window.show()
        window.activateWindow()
        pump(1.5)
        panel = window.sandbox_panel
        for event in ("order.created", "order.paid", "customer.created", "order.paid"):
            panel.event_choice.setCurrentText(event)
            panel.fire_button.click()
            pump(1.2)
        panel.event_choice.setCurrentText("order.cancelled")
        panel.fire_button.click()
        pump(2.5)
        shot(window, "main-overview")

        window.tabs.setCurrentWidget(window.dashboard.log)
        log = window.dashboard.log
        log.table.selectRow(1)
        log.detail.setCurrentIndex(1)
        shot(window, "main-deliveries")
        log.search.setText(log.known_events()[log.all[1].event_id][1].split()[-1][:8])
        log.detail.setCurrentIndex(2)
        shot(window, "main-deliveries-search")
        log.search.clear()

        window.tabs.setCurrentWidget(window.integrations)
        pump(1.0)
        shot(window, "main-integrations")
        window.integrations.reregister_button.click()
        pump(1.5)
        question = open_question(window)
        shot(question, "main-reregister-plan")
        question.reject()

        export = _WORK / "export.json"
        services.config_store.export_to(export, window.config)
        data = json.loads(export.read_text())
        data["segment"]["host"] = "https://events.eu1.segmentapis.com"
        data["tracking"]["order_updated"]["enabled"] = False
        export.write_text(json.dumps(data))
        window.import_from(export)
        pump(1.0)
        question = open_question(window)
        shot(question, "main-import-diff")
        question.reject()

        window.tabs.setCurrentWidget(panel)
        shot(window, "main-sandbox")

        # The fix: the template is put back to the default, then Replay from What needs me.
        fixed = services.load_config()
        fixed.template_overrides.pop("order_cancelled")
        services.save(fixed)
        window._studio_saved()
        window.tabs.setCurrentWidget(window.dashboard)
        window.dashboard.needs_me.table.selectAll()
        window.dashboard.needs_me.replay_button.click()
        pump(3.0)
        shot(window, "dashboard-replayed")
        window.close()
        window.tasks.shutdown()
    finally:
        services.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
