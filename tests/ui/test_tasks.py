"""Background-work helper: outcomes on the GUI thread, one task per key, stale ones dropped."""

from __future__ import annotations

import threading
import time

import pytest
from pytestqt.qtbot import QtBot

from segment_desktop.ui.tasks import CancelToken, Debouncer, TaskCancelled, TaskRunner

pytestmark = pytest.mark.gui


@pytest.fixture
def runner(qtbot: QtBot) -> TaskRunner:
    r = TaskRunner()
    yield r
    assert r.shutdown(2000)


def test_result_on_gui_thread_and_work_off_it(qtbot: QtBot, runner: TaskRunner) -> None:
    gui = threading.get_ident()
    seen: dict[str, int | str] = {}

    def work(token: CancelToken) -> str:
        seen["worker"] = threading.get_ident()
        return "ok"

    def done(value: str) -> None:
        seen["callback"] = threading.get_ident()
        seen["value"] = value

    with qtbot.wait_signal(runner.delivered, timeout=2000):
        runner.submit("k", work, on_result=done)
    assert seen["value"] == "ok"
    assert seen["callback"] == gui
    assert seen["worker"] != gui


def test_error_reaches_on_error_with_the_exception(qtbot: QtBot, runner: TaskRunner) -> None:
    errors: list[BaseException] = []
    results: list[object] = []

    def boom(token: CancelToken) -> None:
        raise ValueError("bad input at line 3")

    with qtbot.wait_signal(runner.delivered, timeout=2000):
        runner.submit("k", boom, on_result=results.append, on_error=errors.append)
    assert results == []
    assert len(errors) == 1 and isinstance(errors[0], ValueError)
    assert str(errors[0]) == "bad input at line 3"


def test_superseded_result_never_delivered_and_queued_one_skipped(
    qtbot: QtBot, runner: TaskRunner
) -> None:
    release = threading.Event()
    started = threading.Event()
    calls: list[str] = []
    results: list[str] = []

    def slow(token: CancelToken) -> str:
        calls.append("first")
        started.set()
        release.wait(2)
        return "first"

    def middle(token: CancelToken) -> str:
        calls.append("middle")
        return "middle"

    def last(token: CancelToken) -> str:
        calls.append("last")
        return "last"

    first = runner.submit("preview", slow, on_result=results.append)
    assert started.wait(2)
    second = runner.submit("preview", middle, on_result=results.append)
    runner.submit("preview", last, on_result=results.append)
    assert first.cancelled and second.cancelled
    # Only one in flight: 'last' cannot have started while 'first' still runs.
    assert calls == ["first"]
    with qtbot.wait_signal(runner.delivered, timeout=2000):
        release.set()
    assert results == ["last"]
    assert calls == ["first", "last"]  # the replaced queued task never ran


def test_cancel_drops_outcome_and_clears_busy(qtbot: QtBot, runner: TaskRunner) -> None:
    busy: list[tuple[str, bool]] = []
    runner.busyChanged.connect(lambda k, b: busy.append((k, b)))
    results: list[int] = []
    stopped_early = threading.Event()
    running = threading.Event()

    def loop(token: CancelToken) -> int:
        running.set()
        for _ in range(500):
            if token.cancelled:
                stopped_early.set()
                token.raise_if_cancelled()
            time.sleep(0.005)
        return 500

    runner.submit("net", loop, on_result=results.append, on_error=results.append)  # type: ignore[arg-type]
    assert runner.is_busy("net")
    assert running.wait(2)
    with qtbot.wait_signal(runner.busyChanged, timeout=2000):
        runner.cancel("net")
    assert stopped_early.is_set()
    qtbot.wait(50)
    assert results == []
    assert busy == [("net", True), ("net", False)]
    assert not runner.is_busy("net")


def test_keys_are_independent(qtbot: QtBot, runner: TaskRunner) -> None:
    barrier = threading.Barrier(2, timeout=2)
    got: dict[str, str] = {}

    def meet(name: str):  # type: ignore[no-untyped-def]
        def work(token: CancelToken) -> str:
            barrier.wait()  # both must be running at the same time
            return name

        return work

    runner.submit("orders", meet("orders"), on_result=lambda v: got.__setitem__("orders", v))
    runner.submit("customers", meet("customers"), on_result=lambda v: got.__setitem__("c", v))
    qtbot.wait_until(lambda: len(got) == 2, timeout=3000)
    assert got == {"orders": "orders", "c": "customers"}


def test_raising_task_cancelled_is_silent(qtbot: QtBot, runner: TaskRunner) -> None:
    errors: list[BaseException] = []

    def gives_up(token: CancelToken) -> None:
        raise TaskCancelled()

    with qtbot.wait_signal(runner.busyChanged, timeout=2000, check_params_cb=lambda k, b: not b):
        runner.submit("k", gives_up, on_error=errors.append)
    qtbot.wait(20)
    assert errors == []


def test_shutdown_refuses_new_work(qtbot: QtBot) -> None:
    r = TaskRunner()
    assert r.shutdown(1000)
    with pytest.raises(RuntimeError):
        r.submit("k", lambda token: 1)


def test_debouncer_collapses_a_burst_into_one_trigger(qtbot: QtBot) -> None:
    d = Debouncer(60)
    fired: list[float] = []
    d.triggered.connect(lambda: fired.append(time.monotonic()))
    start = time.monotonic()
    for _ in range(5):
        d.poke()
        qtbot.wait(15)
    last_poke = time.monotonic()
    assert d.pending and fired == []
    qtbot.wait_until(lambda: len(fired) == 1, timeout=1000)
    assert fired[0] - last_poke >= 0.03  # after the last poke, not the first
    assert fired[0] - start >= 0.06 + 0.04
    qtbot.wait(100)
    assert len(fired) == 1
    assert not d.pending


def test_debouncer_flush_and_cancel(qtbot: QtBot) -> None:
    d = Debouncer(50)
    fired: list[int] = []
    d.triggered.connect(lambda: fired.append(1))
    d.flush()  # nothing pending: nothing fires
    assert fired == []
    d.poke()
    d.flush()
    assert fired == [1]
    d.poke()
    d.cancel()
    qtbot.wait(100)
    assert fired == [1]
    assert d.interval_ms == 50
