"""GUI latency of the template studio, measured in the real widget (offscreen).

* keystroke → preview shown: one key typed into the editor until the new preview is on screen,
  minus the debounce pause (what is left is render + check + format + painting);
* longest GUI-thread stall while previews of a 5-item and a 500-item order run, and while a
  runaway template times out: a precise 10 ms ``QTimer`` probes the GUI thread; the stall is how
  late its latest tick came (the largest gap between ticks minus the 10 ms period: a thread that
  never blocks shows 0). Target: no stall over 16 ms (one frame at 60 Hz). The raw gap is shown
  too;
* the main window's dashboard with events flowing: the sandbox store fires webhooks at the
  relay in this process (``--rate`` a second for ``--seconds``) while the dashboard redraws its
  chart, header, what-needs-me list and delivery log every second; the same probe gives the
  longest stall, and each redraw's own time on the GUI thread is measured too. The reference
  is the same run with the dashboard's refresh paused (``--runs`` pairs, alternately). Since a
  stall's length swings with the machine's load, the table beside it gives the figures that
  do not: the GUI thread's CPU time per redraw and per second, and, within the longest gap,
  how long the GUI thread ran, how long it waited runnable for a CPU, and so how long it slept
  (on the GIL); with the collector's passes in the meantime.

    QT_QPA_PLATFORM=offscreen python -m bench.gui_latency [--repeat N] [--engine NAME]
        [--case studio|dashboard] [--rate N] [--seconds S] [--runs N]

Prints a table and writes ``bench/results/gui_latency.json``.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import tempfile
import threading
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("SEGMENT_DESKTOP_CONFIG_DIR", tempfile.mkdtemp(prefix="gui-bench-"))

from PySide6.QtCore import QEventLoop, Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from bench.orders import order_event
from bench.stats import percentile, print_table, write_results
from segment_desktop.core.config import ConfigStore
from segment_desktop.core.engine import available_engines
from segment_desktop.core.errors import TemplateTimeout
from segment_desktop.core.render import Renderer
from segment_desktop.ui.studio import TemplateStudio
from segment_desktop.ui.studio.preview import Preview
from segment_desktop.ui.studio.studio import PREVIEW_DEBOUNCE_MS

RUNAWAY = "($f := function($n){ $f($n + 1) }; $f(0))"
STALL_TARGET_MS = 16.0
PROBE_MS = 10


def _queued_s() -> float:
    """Seconds this thread has waited, runnable, for a CPU (Linux schedstat; else 0)."""
    try:
        with open("/proc/thread-self/schedstat", "rb") as stat:
            return int(stat.read().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return 0.0


class Probe:
    """Ticks every ``PROBE_MS`` on the GUI thread and remembers the longest gap between ticks,
    and what the GUI thread did in that gap: ran on a CPU, or waited, runnable, for a CPU that
    the machine's other work held (the rest of the gap it slept: on the GIL, or in the event
    loop until the tick was due)."""

    def __init__(self) -> None:
        self.timer = QTimer()
        self.timer.setInterval(PROBE_MS)
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.timeout.connect(self._tick)
        self.longest = self.longest_cpu = self.longest_queued = 0.0
        self._last = self._last_cpu = self._last_queued = 0.0
        #: Ticks that came over the target late: how often the GUI thread stalled, a
        #: figure that moves less with one unlucky moment than the longest stall does.
        self.stalls = 0

    def _tick(self) -> None:
        now, cpu, queued = time.perf_counter(), time.thread_time(), _queued_s()
        if (now - self._last) * 1000 - PROBE_MS > STALL_TARGET_MS:
            self.stalls += 1
        if now - self._last > self.longest:
            self.longest = now - self._last
            self.longest_cpu = cpu - self._last_cpu
            self.longest_queued = queued - self._last_queued
        self._last, self._last_cpu, self._last_queued = now, cpu, queued

    def start(self) -> None:
        self.longest = self.longest_cpu = self.longest_queued = 0.0
        self.stalls = 0
        self._last, self._last_cpu = time.perf_counter(), time.thread_time()
        self._last_queued = _queued_s()
        self.timer.start()

    def stop(self) -> float:
        self.timer.stop()
        return self.longest * 1000


class Watcher:
    """Records when the studio put a preview (or an error) on screen."""

    def __init__(self, studio: TemplateStudio) -> None:
        self.count = 0
        self.at = 0.0
        self.last: object = None
        studio.previewUpdated.connect(self._seen)

    def _seen(self, item: object) -> None:
        self.count += 1
        self.at = time.perf_counter()
        self.last = item


def spin_until(app: QApplication, done, timeout_s: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    end = time.perf_counter() + timeout_s
    while not done():
        if time.perf_counter() > end:
            raise TimeoutError("the studio did not answer in time")
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 5)
        time.sleep(0.0005)


def keystrokes(
    app: QApplication, studio: TemplateStudio, watcher: Watcher, probe: Probe, repeat: int
) -> tuple[list[float], float, list[str]]:
    """Type a character, wait for the preview, type Backspace, wait: ``repeat`` times."""
    text = studio.editor.toPlainText()
    anchor = text.index('"event": "') + len('"event": "Order Completed')
    cursor = studio.editor.textCursor()
    cursor.setPosition(anchor)
    studio.editor.setTextCursor(cursor)
    latencies: list[float] = []
    failures: list[str] = []
    probe.start()
    for i in range(repeat * 2):
        seen = watcher.count
        started = time.perf_counter()
        if i % 2 == 0:
            QTest.keyClick(studio.editor, Qt.Key.Key_X)
        else:
            QTest.keyClick(studio.editor, Qt.Key.Key_Backspace)
        spin_until(app, lambda seen=seen: watcher.count > seen)
        if not isinstance(watcher.last, Preview):
            failures.append(repr(watcher.last))
        latencies.append((watcher.at - started) * 1000 - PREVIEW_DEBOUNCE_MS)
    return latencies, probe.stop(), failures


def use_event(app: QApplication, studio: TemplateStudio, watcher: Watcher, items: int) -> None:
    event = order_event(items)
    studio.samples.use_event(event)
    chooser = studio.samples
    spin_until(
        app, lambda: chooser.current_event is not None and chooser.current_event.id == event.id
    )
    seen = watcher.count
    studio.request_preview()
    spin_until(app, lambda: watcher.count > seen)


def runaway(
    app: QApplication, studio: TemplateStudio, watcher: Watcher, probe: Probe
) -> tuple[float, float]:
    seen = watcher.count
    probe.start()
    started = time.perf_counter()
    studio.editor.setPlainText(RUNAWAY)
    spin_until(app, lambda: watcher.count > seen)
    took = (time.perf_counter() - started) * 1000
    stall = probe.stop()
    if not isinstance(watcher.last, TemplateTimeout):
        raise RuntimeError(f"expected a timeout, got {watcher.last!r}")
    return took, stall


def run_engine(app: QApplication, engine: str, repeat: int) -> list[dict[str, object]]:
    studio = TemplateStudio(Renderer(engine), ConfigStore())
    studio.resize(1280, 780)
    studio.show()
    watcher = Watcher(studio)
    probe = Probe()
    spin_until(app, lambda: studio.last_preview is not None)
    studio.select_template("order_completed")
    rows: list[dict[str, object]] = []
    for items in (5, 500):
        use_event(app, studio, watcher, items)
        keystrokes(app, studio, watcher, probe, 3)  # warm-up
        latencies, stall, failures = keystrokes(app, studio, watcher, probe, repeat)
        preview = studio.last_preview
        rows.append(
            {
                "engine": engine,
                "case": f"keystroke, {items}-item order",
                "p50_ms": statistics.median(latencies),
                "p95_ms": percentile(latencies, 95),
                "max_ms": max(latencies),
                "longest_gap_ms": stall,
                "longest_stall_ms": max(0.0, stall - PROBE_MS),
                "call_bytes": preview.largest_size if preview else 0,
                "n": len(latencies),
                "failed": len(failures),
                "failures": sorted(set(failures))[:3],
            }
        )
    took, stall = runaway(app, studio, watcher, probe)
    rows.append(
        {
            "engine": engine,
            "case": "runaway template → timeout",
            "p50_ms": took,
            "p95_ms": took,
            "max_ms": took,
            "longest_gap_ms": stall,
            "longest_stall_ms": max(0.0, stall - PROBE_MS),
            "call_bytes": 0,
            "n": 1,
            "failed": 0,
            "failures": [],
        }
    )
    studio._dirty = False
    studio.shutdown()
    studio.deleteLater()
    return rows


class GcWatch:
    """Times the collector's passes while it is on: how many ran on the GUI thread, and the
    longest (a collection holds the GIL, so a long one on any thread stalls the GUI thread)."""

    def __init__(self) -> None:
        self.gui = threading.get_ident()
        self.on = False
        self.passes: list[tuple[bool, int, float]] = []  # (on the GUI thread, generation, ms)
        self._started: dict[int, float] = {}

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        thread = threading.get_ident()
        if phase == "start":
            self._started[thread] = time.perf_counter()
        elif self.on and thread in self._started:
            took = (time.perf_counter() - self._started.pop(thread)) * 1000
            self.passes.append((thread == self.gui, info["generation"], took))

    def summary(self) -> dict[str, object]:
        gui = [p for p in self.passes if p[0]]
        return {
            "gc_passes": len(self.passes),
            "gc_passes_gui": len(gui),
            "gc_full_passes": sum(1 for p in self.passes if p[1] == 2),
            "gc_longest_ms": max((p[2] for p in self.passes), default=0.0),
        }


def run_dashboard(
    app: QApplication, rate: float, seconds: float, redraw: bool = True
) -> dict[str, object]:
    """The main window on the sandbox and its relay, with ``rate`` events a second flowing.

    ``redraw=False`` is the reference: the same window and flow with the dashboard's refresh
    stopped, so what the relay and the emulators in this process cost the GUI thread shows
    apart from what the redraws cost. The GUI thread runs a real event loop meanwhile (it
    sleeps until an event comes, as in the app), and its CPU time over the run is measured:
    that figure, unlike the stall, hardly moves with the machine's load.
    """
    from segment_desktop.core.config import CommerceSettings, Config, SegmentSettings
    from segment_desktop.core.flow import Draft
    from segment_desktop.core.secrets import COMMERCE_CLIENT_SECRET, SEGMENT_WRITE_KEY
    from segment_desktop.services import MemorySecrets, Services, local_relay
    from segment_desktop.ui.main_window import MainWindow

    os.environ.setdefault("SEGMENT_DESKTOP_DATA_DIR", tempfile.mkdtemp(prefix="gui-bench-data-"))
    sandbox = local_relay.start_sandbox()  # as the app starts it
    services = Services(config_store=ConfigStore(), secrets=MemorySecrets(), sandbox=sandbox)
    services.secrets.set(COMMERCE_CLIENT_SECRET, sandbox.client_secret)
    services.secrets.set(SEGMENT_WRITE_KEY, sandbox.write_key)
    config = Config.default()
    config.commerce = CommerceSettings(client_id=sandbox.client_id, base_url=sandbox.commerce_url)
    config.segment = SegmentSettings(host=sandbox.segment_url)
    config.relay_url = services.sandbox_relay_url()
    config.sandbox = True
    # One template fails, so "What needs me" grows as well as the chart and the log.
    config.template_overrides["order_cancelled"] = '{"type": "track", "userId": "x"}'
    config = services.register(Draft(config, sandbox.client_secret, sandbox.write_key))
    services.save(config)
    services.start_relay(config)
    window = MainWindow(services, config)
    window.show()
    spin_until(app, lambda: getattr(window, "dashboard", None) is not None)
    dashboard = window.dashboard
    redraws: list[float] = []
    redraw_cpu: list[float] = []
    show = dashboard._show

    def timed_show(snapshot: object) -> None:
        started, cpu = time.perf_counter(), time.thread_time()
        show(snapshot)  # type: ignore[arg-type]
        redraw_cpu.append((time.thread_time() - cpu) * 1000)
        redraws.append((time.perf_counter() - started) * 1000)

    dashboard._show = timed_show  # type: ignore[method-assign]
    stop = threading.Event()
    fired = [0]
    events = ("order.created", "order.paid", "customer.created", "order.cancelled")

    def fire() -> None:
        while not stop.wait(1 / rate):
            sandbox.commerce.fire(events[fired[0] % len(events)])
            fired[0] += 1

    probe = Probe()
    spin_until(app, lambda: bool(redraws))
    if not redraw:
        dashboard.stop()
        spin_until(app, lambda: not window.tasks.is_busy("dashboard.snapshot"))
    redraws.clear()
    redraw_cpu.clear()
    gc_watch = GcWatch()
    gc.callbacks.append(gc_watch)
    # Firing stands for the store's work, which the sandbox's own threads do in the app.
    firing = threading.Thread(target=fire, name="bench-fire", daemon=True)
    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    gc_watch.on = True
    cpu = time.thread_time()
    probe.start()
    firing.start()
    loop.exec()
    gap = probe.stop()
    gui_cpu = (time.thread_time() - cpu) * 1000
    gc_watch.on = False
    gc.callbacks.remove(gc_watch)
    stop.set()
    firing.join()
    shown = len(dashboard.log.all)
    window.close()
    window.tasks.shutdown()
    services.close()
    redraws = redraws or [0.0]
    return {
        "engine": str(getattr(services.renderer().engine, "name", services.renderer().engine)),
        "case": f"dashboard{'' if redraw else ' paused'}, {rate:g} events/s for {seconds:g} s",
        "p50_ms": statistics.median(redraws),
        "p95_ms": percentile(redraws, 95),
        "max_ms": max(redraws),
        "redraw_cpu_p50_ms": statistics.median(redraw_cpu) if redraw_cpu else 0.0,
        "redraw_cpu_max_ms": max(redraw_cpu, default=0.0),
        "gui_cpu_ms_per_s": gui_cpu / seconds,
        "longest_gap_ms": gap,
        "longest_stall_ms": max(0.0, gap - PROBE_MS),
        "longest_gap_cpu_ms": probe.longest_cpu * 1000,
        "longest_gap_queued_ms": probe.longest_queued * 1000,
        "stalls_over_target": probe.stalls,
        "call_bytes": 0,
        "n": len(redraws),
        "failed": 0,
        "failures": [],
        "fired": fired[0],
        "deliveries_shown": shown,
        **gc_watch.summary(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--engine", action="append", choices=available_engines())
    parser.add_argument(
        "--case", action="append", choices=("studio", "dashboard"), help="default: both"
    )
    parser.add_argument("--rate", type=float, default=20.0, help="dashboard: events a second")
    parser.add_argument("--seconds", type=float, default=10.0, help="dashboard: how long")
    parser.add_argument(
        "--runs", type=int, default=1, help="dashboard: paused/live pairs, run alternately"
    )
    args = parser.parse_args(argv)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    cases = args.case or ["studio", "dashboard"]
    rows: list[dict[str, object]] = []
    if "studio" in cases:
        for engine in args.engine or available_engines():
            rows.extend(run_engine(app, engine, args.repeat))
    if "dashboard" in cases:
        for _ in range(args.runs):
            for redraw in (False, True):  # the paused reference first
                rows.append(run_dashboard(app, args.rate, args.seconds, redraw))
    print(
        f"Keystroke → preview shown, minus the {PREVIEW_DEBOUNCE_MS} ms debounce; for the "
        "dashboard, one redraw's time on the GUI thread. GUI stall = "
        f"longest gap between the ticks of a {PROBE_MS} ms timer minus {PROBE_MS} ms "
        f"(target ≤ {STALL_TARGET_MS:.0f} ms)."
    )
    print_table(
        ["engine", "case", "p50 ms", "p95 ms", "max ms", "gap ms", "stall ms", "", "call bytes",
         "failed"],
        [
            [r["engine"], r["case"], r["p50_ms"], r["p95_ms"], r["max_ms"], r["longest_gap_ms"],
             r["longest_stall_ms"],
             "ok" if float(r["longest_stall_ms"]) <= STALL_TARGET_MS else "MISSED",  # type: ignore[arg-type]
             r["call_bytes"], f"{r['failed']}/{r['n']}"]
            for r in rows
        ],
    )  # fmt: skip
    dashboards = [r for r in rows if "gui_cpu_ms_per_s" in r]
    if dashboards:
        print(
            "\nDashboard: CPU time of the GUI thread per redraw and per second of the run (the "
            "figure that resists the machine's load); how many ticks came more than "
            f"{STALL_TARGET_MS:.0f} ms late; in the longest gap, its time on a CPU and "
            "queued for one (the rest it slept: on the GIL, or until the tick was due); the "
            "collector's passes."
        )
        print_table(
            ["case", "redraw cpu p50 ms", "redraw cpu max ms", "GUI cpu ms/s",
             f"stalls > {STALL_TARGET_MS:.0f} ms", "longest gap: cpu ms", "queued ms",
             "gc passes", "on GUI thread", "full", "longest gc ms"],
            [
                [r["case"], r["redraw_cpu_p50_ms"], r["redraw_cpu_max_ms"], r["gui_cpu_ms_per_s"],
                 r["stalls_over_target"], r["longest_gap_cpu_ms"], r["longest_gap_queued_ms"],
                 r["gc_passes"],
                 r["gc_passes_gui"], r["gc_full_passes"], r["gc_longest_ms"]]
                for r in dashboards
            ],
        )  # fmt: skip
    path = write_results(
        "gui_latency",
        {"debounce_ms": PREVIEW_DEBOUNCE_MS, "stall_target_ms": STALL_TARGET_MS, "rows": rows},
    )
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
