"""Relay settings: flag over environment over saved config; clear errors for bad values."""

from __future__ import annotations

from pathlib import Path

import pytest

from segment_desktop.core.errors import ConfigError
from segment_desktop.relay.settings import parse_listen, resolve
from segment_desktop.relay.status import outbox_stats, parked_items


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1:8787", ("127.0.0.1", 8787)),
        (":9000", ("0.0.0.0", 9000)),
        ("[::1]:8080", ("::1", 8080)),
        ("0.0.0.0:0", ("0.0.0.0", 0)),
    ],
)
def test_parse_listen(text: str, expected: tuple[str, int]) -> None:
    assert parse_listen(text) == expected


@pytest.mark.parametrize("text", ["8787", "host:", "host:99999", "host:http", ""])
def test_parse_listen_refuses(text: str) -> None:
    with pytest.raises(ConfigError, match="HOST:PORT"):
        parse_listen(text)


def test_flag_over_environment_over_config(tmp_path: Path) -> None:
    env = {
        "SEGMENT_DESKTOP_RELAY_LISTEN": "127.0.0.1:1111",
        "SEGMENT_DESKTOP_SEGMENT_HOST": "https://env.example",
        "SEGMENT_DESKTOP_DATA_DIR": str(tmp_path / "env-data"),
        "SEGMENT_DESKTOP_RELAY_MAX_BODY_BYTES": "2048",
        "SEGMENT_DESKTOP_RELAY_FLUSH_SECONDS": "1.5",
    }
    from_env = resolve(
        config_segment_host="https://config.example", config_segment_path="/v1/batch", environ=env
    )
    assert (from_env.host, from_env.port) == ("127.0.0.1", 1111)
    assert from_env.segment_host == "https://env.example"
    assert from_env.data_dir == tmp_path / "env-data"
    assert (from_env.max_body_bytes, from_env.flush_seconds) == (2048, 1.5)
    flags = resolve(
        config_segment_host="https://config.example",
        config_segment_path="/v1/batch",
        listen="127.0.0.1:2222",
        segment_host="https://flag.example",
        data_dir=str(tmp_path / "flag-data"),
        environ=env,
    )
    assert (flags.port, flags.segment_host) == (2222, "https://flag.example")
    assert flags.data_dir == tmp_path / "flag-data"
    saved = resolve(
        config_segment_host="https://config.example", config_segment_path="/p", environ={}
    )
    assert (saved.segment_host, saved.segment_path, saved.port) == (
        "https://config.example",
        "/p",
        8787,
    )


def test_bad_numbers_name_the_variable() -> None:
    with pytest.raises(ConfigError, match="SEGMENT_DESKTOP_RELAY_MAX_BODY_BYTES"):
        resolve(
            config_segment_host="h",
            config_segment_path="/p",
            environ={"SEGMENT_DESKTOP_RELAY_MAX_BODY_BYTES": "lots"},
        )


def test_status_of_a_data_dir_without_outbox(tmp_path: Path) -> None:
    stats = outbox_stats(tmp_path / "never-used")
    assert (stats.events, stats.pending, stats.parked) == (0, 0, 0)
    assert parked_items(tmp_path / "never-used") == []
    assert not (tmp_path / "never-used").exists()  # reading creates nothing


def test_render_processes_flag_over_environment_over_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import os

    def resolved(flag: int | None, env: dict[str, str], engine: str = "jsonata-python") -> int:
        return resolve(
            config_segment_host="h",
            config_segment_path="/p",
            render_processes=flag,
            engine=engine,
            environ=env,
        ).render_processes

    variable = "SEGMENT_DESKTOP_RELAY_RENDER_PROCESSES"
    assert resolved(None, {}) == max(1, min(4, os.cpu_count() or 1))
    monkeypatch.setattr(os, "cpu_count", lambda: 16)
    assert resolved(None, {}) == 4  # one per CPU, at most 4
    monkeypatch.setattr(os, "cpu_count", lambda: None)
    assert resolved(None, {}) == 1
    assert resolved(None, {variable: "3"}) == 3
    # jlens too: processes fed in batches beat threads
    monkeypatch.setattr(os, "cpu_count", lambda: 16)
    assert resolved(None, {}, engine="jlens") == 4
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    assert resolved(None, {}, engine="jlens") == 2
    monkeypatch.setattr(os, "cpu_count", lambda: None)
    assert resolved(None, {}, engine="jlens") == 1
    assert resolved(None, {variable: "3"}, engine="jlens") == 3
    assert resolved(2, {}, engine="jlens") == 2
    assert resolved(None, {variable: "0"}) == 0  # threads in the relay's own process
    assert resolved(2, {variable: "3"}) == 2
    assert resolved(0, {variable: "3"}) == 0
    with pytest.raises(ConfigError, match=variable):
        resolved(None, {variable: "two"})
    with pytest.raises(ConfigError, match=variable):
        resolved(None, {variable: "-1"})
    with pytest.raises(ConfigError, match="--render-processes"):
        resolved(-1, {})


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["relay"], None),
        (["relay", "--render-processes", "3"], 3),
        (["relay", "--render-processes", "3", "serve"], 3),
        (["relay", "serve", "--render-processes", "0"], 0),
    ],
)
def test_render_processes_flag(argv: list[str], expected: int | None) -> None:
    from segment_desktop.cli import build_parser

    args = build_parser().parse_args(argv)
    assert getattr(args, "render_processes", None) == expected


def test_render_processes_are_capped_with_a_message() -> None:
    import os

    most = 4 * (os.cpu_count() or 1)
    settings = resolve(config_segment_host="h", config_segment_path="/p", render_processes=most)
    assert settings.render_processes == most
    with pytest.raises(ConfigError, match=f"use at most {most}"):
        resolve(config_segment_host="h", config_segment_path="/p", render_processes=most + 1)


def test_retention_days_flag_over_environment_over_default() -> None:
    common = {"config_segment_host": "https://c.example", "config_segment_path": "/v1/batch"}
    assert resolve(**common, environ={}).retention_days == 30
    env = {"SEGMENT_DESKTOP_RELAY_RETENTION_DAYS": "7.5"}
    assert resolve(**common, environ=env).retention_days == 7.5
    assert resolve(**common, retention_days=1, environ=env).retention_days == 1
    for bad in ("soon", "-1", "nan", "inf"):
        with pytest.raises(ConfigError, match="SEGMENT_DESKTOP_RELAY_RETENTION_DAYS"):
            resolve(**common, environ={"SEGMENT_DESKTOP_RELAY_RETENTION_DAYS": bad})
    for flag in (-2.0, float("nan")):
        with pytest.raises(ConfigError, match="--retention-days"):
            resolve(**common, retention_days=flag, environ={})
