"""What the first window waits for: nothing it does not show.

The setup wizard (a new user's first window) and the main window (a configured user's) are
started as the ``segment-desktop`` gui-script starts them, each in a fresh process
(``bench/startup_child.py``, with private settings folders and no D-Bus session); once the
first window is shown that process lists what it had loaded. How long start-up takes is
measured by ``python -m bench.startup`` (a ratio against a bare wizard), never timed here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench.startup import _write_configured_settings
from bench.startup_child import LOADED_ENV

pytestmark = pytest.mark.gui

ROOT = Path(__file__).resolve().parents[2]

#: Packages and modules the first window does not show anything of: the HTTP and AWS clients,
#: the keyring, metrics, schemas, the template engines, the relay, the studio, the dashboard's
#: charts and tables (built after the first paint).
AFTER_THE_FIRST_WINDOW = (
    "httpx",
    "boto3",
    "botocore",
    "keyring",
    "prometheus_client",
    "jsonschema",
    "jsonata",
    "jlens",
    "PySide6.QtCharts",
    "pyqtgraph",
    "segment_desktop.relay",
    "segment_desktop.core.render",
    "segment_desktop.core.engine",
    "segment_desktop.commerce",
    "segment_desktop.segment",
    "segment_desktop.ui.studio",
    "segment_desktop.ui.dashboard.dashboard",
    "segment_desktop.ui.dashboard.chart",
    "segment_desktop.ui.dashboard.delivery_log",
)
#: And the other first window: a new user sees the wizard, a configured one the main window.
THE_OTHER_WINDOW = {"app": "segment_desktop.ui.main_window", "main": "segment_desktop.ui.wizard"}


def first_window(kind: str, tmp_path: Path) -> dict[str, Any]:
    """Start ``kind`` (``app``: the setup wizard, ``main``: the main window) and return what
    was loaded when its first window was shown."""
    if kind == "main":
        _write_configured_settings(tmp_path / "config")
    loaded = tmp_path / "loaded.json"
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "SEGMENT_DESKTOP_CONFIG_DIR": str(tmp_path / "config"),
        "SEGMENT_DESKTOP_LOG_DIR": str(tmp_path / "logs"),
        "SEGMENT_DESKTOP_DATA_DIR": str(tmp_path / "data"),
        "DBUS_SESSION_BUS_ADDRESS": f"unix:path={tmp_path / 'no-bus'}",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        LOADED_ENV: str(loaded),
    }
    done = subprocess.run(
        [sys.executable, "-m", "bench.startup_child", kind],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert loaded.exists(), f"no window was shown:\n{done.stdout}{done.stderr}"
    result: dict[str, Any] = json.loads(loaded.read_text(encoding="utf-8"))
    return result


@pytest.mark.parametrize("kind", ["app", "main"])
def test_the_first_window_loads_nothing_it_does_not_show(kind: str, tmp_path: Path) -> None:
    loaded = first_window(kind, tmp_path)
    modules = set(loaded["modules"])
    assert "segment_desktop.ui.app" in modules, "the app itself ran"
    early = [
        heavy
        for heavy in (*AFTER_THE_FIRST_WINDOW, THE_OTHER_WINDOW[kind])
        if any(name == heavy or name.startswith(heavy + ".") for name in modules)
    ]
    assert early == [], f"imported before the first window was shown: {early}"


@pytest.mark.parametrize("kind", ["app", "main"])
def test_the_first_window_does_not_build_the_qt_namespace(kind: str, tmp_path: Path) -> None:
    """PySide builds all of the ``Qt`` namespace's enums on its first use (and an overload
    taking one of them, like ``QPainter.setPen``, counts): that takes longer than drawing
    either window."""
    assert first_window(kind, tmp_path)["qt_namespace"] is False
