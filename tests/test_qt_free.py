"""Everything outside ``segment_desktop.ui`` imports without PySide6: core, clients, relay, sandbox.

The relay runs on servers where PySide6 may be installed but must never be loaded, so this runs in a
fresh interpreter with an import hook that fails any attempt to import it.
"""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import segment_desktop

PROBE = """
import importlib, sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("PySide6", "shiboken6"):
            raise ImportError("PySide6 imported outside segment_desktop.ui: " + name)
        return None
sys.meta_path.insert(0, Block())
for name in sys.argv[1:]:
    importlib.import_module(name)
importlib.import_module("segment_desktop.cli").build_parser()
print("ok")
"""


def qt_free_modules() -> list[str]:
    names = [
        info.name
        for info in pkgutil.walk_packages(segment_desktop.__path__, "segment_desktop.")
        if not info.name.startswith("segment_desktop.ui") and not info.name.endswith("__main__")
    ]
    return sorted(names)


def test_the_list_covers_the_parts() -> None:
    names = qt_free_modules()
    for expected in ("segment_desktop.core.render", "segment_desktop.cli"):
        assert expected in names
    assert len(names) > 15


def test_qt_free_modules_import_without_pyside6() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *qt_free_modules()],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "ok"
