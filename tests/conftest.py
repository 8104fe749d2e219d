"""Shared test set-up: Qt offscreen, no proxies, private config and log folders per test."""

from __future__ import annotations

import os

# Qt must see the platform before it is first imported anywhere.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
for _proxy in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
    os.environ.pop(_proxy, None)
os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"

from collections.abc import Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

pytest_plugins = [
    "tests.fixtures.secret_service",
    "tests.fixtures.sandbox",
    "tests.fixtures.contracts",
    "tests.fixtures.moto_sqs",
]


@pytest.fixture(autouse=True)
def private_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Every test gets its own config and log folders; nothing touches the real user's."""
    config_dir = tmp_path / "config"
    log_dir = tmp_path / "logs"
    data_dir = tmp_path / "data"
    monkeypatch.setenv("SEGMENT_DESKTOP_CONFIG_DIR", str(config_dir))
    monkeypatch.setenv("SEGMENT_DESKTOP_LOG_DIR", str(log_dir))
    monkeypatch.setenv("SEGMENT_DESKTOP_DATA_DIR", str(data_dir))
    yield tmp_path
