"""The measured process of ``bench.startup``: start one kind of window, say when it is shown.

    python -m bench.startup_child app|main|bare

It imports nothing but what it measures (the parent's modules would add the same time to
every child and flatten the ratios): ``app`` and ``main`` run ``segment_desktop.cli.main``
with no arguments, as the ``segment-desktop`` gui-script does; ``bare`` shows a one-page
``QWizard`` with a label. In each, the QApplication and the first-window watcher are created
as soon as something first imports ``PySide6.QtWidgets`` (``ui.app.application()`` reuses that
QApplication), so the app imports its modules in the order it does when a user starts it.
Once the first window is shown it prints one line, :data:`MARK` and then its
``time.monotonic()`` stamps (entered, exposed, shown), its CPU seconds and peak memory (KiB) so
far, the watcher's own CPU seconds, whether the exposure was seen late, and the window's title;
then it quits.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import resource
import sys
import time
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    import importlib.abc

MARK = "STARTUP"
KINDS = ("app", "main", "bare")
#: When set, the child runs under cProfile until its window is shown and writes the
#: statistics to this path (``bench.startup --explain``; the app may leave without running
#: its interpreter's exit handlers, so ``python -m cProfile`` would write nothing).
PROFILE_ENV = "STARTUP_BENCH_PROFILE"
#: When set, the child writes to this path, as JSON, what was loaded when its window was
#: shown: ``modules`` (the names in ``sys.modules``) and ``qt_namespace`` (whether PySide had
#: built the ``Qt`` namespace's enums). ``tests/ui/test_startup.py`` reads it.
LOADED_ENV = "STARTUP_BENCH_LOADED"


def run(kind: str) -> int:
    """Start ``kind``, report when its first window is shown; returns the exit code."""
    entered = time.monotonic()
    on_shown: list[Callable[[], None]] = []
    if profile_to := os.environ.get(PROFILE_ENV):
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()

        def write_profile() -> None:
            profiler.disable()
            profiler.dump_stats(profile_to)

        on_shown.append(write_profile)
    if loaded_to := os.environ.get(LOADED_ENV):
        on_shown.append(lambda: _write_loaded(loaded_to))

    def shown() -> None:
        for then in on_shown:
            then()

    watchers: list[Any] = []  # kept alive until the child returns

    def qt_widgets_imported() -> None:
        from PySide6.QtWidgets import QApplication

        QApplication(sys.argv[:1])
        watchers.append(watch_first_window(entered, shown if on_shown else None))

    sys.meta_path.insert(0, _AfterImport("PySide6.QtWidgets", qt_widgets_imported))
    if kind in ("app", "main"):
        from segment_desktop.cli import main

        return main([])
    from PySide6.QtWidgets import QApplication, QLabel, QVBoxLayout, QWizard, QWizardPage

    wizard = QWizard()
    wizard.setWindowTitle("Bare wizard")
    page = QWizardPage()
    page.setTitle("Welcome")
    layout = QVBoxLayout(page)
    layout.addWidget(QLabel("A bare QWizard, started the same way."))
    wizard.addPage(page)
    wizard.show()
    return int(QApplication.exec())


def _write_loaded(path: str) -> None:
    import json

    import PySide6.QtCore

    loaded = {
        "modules": sorted(sys.modules),
        # PySide creates a type on its first use, and only then is it in the module's dict
        "qt_namespace": "Qt" in vars(PySide6.QtCore),
    }
    with open(path, "w", encoding="utf-8") as out:
        json.dump(loaded, out)


class _AfterImport:
    """Calls ``then`` right after the module ``name`` is first imported, whoever imports it.

    A finder and a loader by their methods alone: ``importlib.abc`` would import
    ``importlib.resources``, which the app would then find already loaded."""

    def __init__(self, name: str, then: Callable[[], None]) -> None:
        self.name = name
        self.then = then

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != self.name:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None:
            return spec
        loader, then = spec.loader, self.then

        class Then:
            def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
                return loader.create_module(spec)

            def exec_module(self, module: ModuleType) -> None:
                loader.exec_module(module)
                then()

        spec.loader = cast("importlib.abc.Loader", Then())
        return spec


def watch_first_window(entered: float, shown: Callable[[], None] | None = None) -> Any:
    """Start watching for the first exposed top-level window; returns the watcher (``shown``
    is called once that window is shown, before the report).

    It costs every child the same and nothing per event: no application-wide event filter
    (PySide would then wrap every event of every object in Python, and the app has far more
    objects than the bare wizard). A 1 ms timer, and the focus moving to a window, look at the
    top-level windows; an event filter goes on each visible one that is not exposed yet, so
    its ``Expose`` is seen as it arrives, before the paint it causes. A window found already
    exposed (its ``Expose`` came between two looks) counts from that look and is reported as
    late. "Shown" is one more pass of the event loop after the exposure.
    """
    from PySide6.QtCore import QEvent, QObject, QTimer
    from PySide6.QtGui import QGuiApplication, QWindow
    from PySide6.QtWidgets import QApplication

    expose = QEvent.Type.Expose

    class FirstWindow(QObject):
        def __init__(self) -> None:
            super().__init__()
            self.watched: list[QWindow] = []  # held, so each keeps its one wrapper
            self.done = False
            self.spent = 0.0  # seconds inside the watcher
            self.timer = QTimer(self)
            self.timer.setInterval(1)
            self.timer.timeout.connect(self.look)
            self.timer.start()
            app = QGuiApplication.instance()
            assert isinstance(app, QGuiApplication)
            app.focusWindowChanged.connect(self.look)

        def look(self) -> None:
            started = time.perf_counter()
            for window in QGuiApplication.topLevelWindows():
                if self.done:
                    break
                if window.isExposed():
                    self.found(window, late=True)
                elif window.isVisible() and not any(window is w for w in self.watched):
                    self.watched.append(window)
                    window.installEventFilter(self)
            self.spent += time.perf_counter() - started

        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if (
                not self.done
                and event.type() == expose
                and isinstance(watched, QWindow)
                and watched.isExposed()
            ):
                self.found(watched, late=False)
            return False

        def found(self, window: QWindow, *, late: bool) -> None:
            self.done = True
            self.timer.stop()
            exposed = time.monotonic()
            title = window.title()
            QTimer.singleShot(0, lambda: self.report(exposed, late, title))

        def report(self, exposed: float, late: bool, title: str) -> None:
            at = time.monotonic()
            # The process's own CPU time (all threads) and peak memory until now: what it
            # does after the window is shown (the work it deferred, quitting) is not counted.
            cpu = time.process_time()
            peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # Linux: KiB
            if shown is not None:
                shown()
            print(
                f"{MARK} {entered!r} {exposed!r} {at!r} {cpu!r} {peak_kib} {self.spent!r} "
                f"{int(late)} {title}",
                flush=True,
            )
            QApplication.quit()

    return FirstWindow()


if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in KINDS:
        sys.exit(f"usage: python -m bench.startup_child {'|'.join(KINDS)}")
    sys.exit(run(sys.argv[1]))
