"""What start-up leaves behind is exempted from later garbage collections, in a process that is
only a relay and in its render processes, never in the desktop app's."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

from segment_desktop.core.config import Config
from segment_desktop.relay.heap import freeze_startup_heap
from segment_desktop.relay.rendering import EventRenderer, TemplateConfig
from segment_desktop.relay.runtime import Relay
from segment_desktop.relay.server import RelayServer
from tests.relay.helpers import WEBHOOK_SECRET, WRITE_KEY, wait_for


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()  # the rest of the test session collects as before


class _Sink:
    def send_encoded_batch(self, calls: list[str]) -> None:
        pass


def _config() -> Config:
    config = Config.default()
    config.segment.host = "http://127.0.0.1:9"
    return config


def _compiled_are_frozen(renderer: EventRenderer) -> bool:
    """Whether the renderer's compiled templates exist and were frozen (frozen objects are not
    among ``gc.get_objects()``): compiled before the freeze, not on the first event."""
    compiled = [p for p in renderer.renderer._cache.values() if gc.is_tracked(p)]
    if len(compiled) < len(renderer.templates.chosen):
        return False
    tracked = {id(o) for o in gc.get_objects()}
    return not any(id(p) in tracked for p in compiled)


def _worker_compiled_are_frozen() -> bool:
    """Run in a render process: the same question about its renderer."""
    from segment_desktop.relay import render_pool

    assert render_pool._worker is not None
    return _compiled_are_frozen(render_pool._worker.renderer)


def test_freezing_exempts_what_exists_and_still_collects_new_cycles(unfrozen: None) -> None:
    class Node:
        other: object = None

    kept = [Node() for _ in range(100)]
    frozen = freeze_startup_heap()
    assert frozen == gc.get_freeze_count() >= 100
    tracked = {id(o) for o in gc.get_objects()}
    assert not any(id(node) in tracked for node in kept)  # no longer scanned

    a, b = Node(), Node()
    a.other, b.other = b, a  # a cycle made after the freeze
    del a, b
    assert gc.collect() >= 2  # found and freed: only start-up's objects are exempt


def test_a_relay_process_freezes_its_heap_after_compiling(tmp_path: Path, unfrozen: None) -> None:
    relay = Relay(
        templates=TemplateConfig.from_config(_config()),
        client=_Sink(),
        data_dir=tmp_path / "data",
    )
    try:
        relay.start(freeze_heap=True)  # what `segment-desktop relay` does
        assert gc.get_freeze_count() > 10_000  # modules, engine, compiled templates
        assert _compiled_are_frozen(relay.renderer)
    finally:
        relay.stop(0.5)


def test_the_desktop_apps_relay_leaves_the_heap_alone(tmp_path: Path, unfrozen: None) -> None:
    server = RelayServer.start(_config(), WRITE_KEY, WEBHOOK_SECRET, tmp_path / "data")
    try:
        assert gc.get_freeze_count() == 0
    finally:
        server.stop()


def test_render_processes_freeze_their_heap_after_the_warm_up(tmp_path: Path) -> None:
    server = RelayServer.start(
        _config(), WRITE_KEY, WEBHOOK_SECRET, tmp_path / "data", render_processes=1
    )
    try:
        pool = server.relay.pool
        assert pool is not None
        wait_for(lambda: len(pool.pids()) == 1, what="a render process")
        assert pool._executor.submit(gc.get_freeze_count).result(timeout=30) > 10_000
        assert pool._executor.submit(_worker_compiled_are_frozen).result(timeout=30)
    finally:
        server.stop()
