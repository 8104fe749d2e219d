"""The core, the clients, the relay and the sandbox never import PySide6."""

from __future__ import annotations

import subprocess
import sys

QT_FREE = [
    "segment_desktop.core",
    "segment_desktop.core.errors",
    "segment_desktop.core.events",
    "segment_desktop.core.envelope",
    "segment_desktop.cli",
]
OPTIONAL = [
    "segment_desktop.core.money",
    "segment_desktop.core.engine",
    "segment_desktop.core.render",
    "segment_desktop.core.templates",
    "segment_desktop.core.messages",
    "segment_desktop.core.spec",
    "segment_desktop.core.config",
    "segment_desktop.core.secrets",
    "segment_desktop.core.logs",
    "segment_desktop.core.flow",
    "segment_desktop.core.samples",
    "segment_desktop.commerce",
    "segment_desktop.segment",
    "segment_desktop.registration",
    "segment_desktop.render_command",
    "segment_desktop.register_command",
    "segment_desktop.sandbox",
    "segment_desktop.sandbox.command",
    "segment_desktop.relay",
    "segment_desktop.relay.command",
]

PROBE = """
import importlib, importlib.util, sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name == "PySide6" or name.startswith("PySide6.") or name == "shiboken6":
            raise ImportError("PySide6 imported by the Qt-free part: " + name)
        return None
sys.meta_path.insert(0, Block())
for name in sys.argv[1:]:
    try:
        spec = importlib.util.find_spec(name)
    except ModuleNotFoundError:
        spec = None
    if spec is None and name in {optional}:
        continue
    importlib.import_module(name)
    if name == "segment_desktop.cli":
        importlib.import_module(name).build_parser()
print("ok")
"""


def test_qt_free_modules_import_without_pyside6() -> None:
    script = PROBE.replace("{optional}", repr(set(OPTIONAL)))
    result = subprocess.run(
        [sys.executable, "-c", script, *QT_FREE, *OPTIONAL],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
