"""Template history: every save keeps the text it replaces, at most 100, with a diff."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from segment_desktop.core.errors import ConfigError
from segment_desktop.core.template_history import TemplateHistory, diff, os_user


def test_each_save_keeps_the_previous_text_newest_first(tmp_path: Path) -> None:
    history = TemplateHistory(tmp_path)
    when = datetime(2026, 12, 1, 23, 40, tzinfo=UTC)
    first = history.record("Order Completed", "one\n", now=when)
    assert first is not None and first.number == 1 and first.author == os_user()
    assert history.record("order_completed", "one\n") is None  # no edit, nothing new
    history.record("order_completed", "two\n", author="alice")
    versions = history.versions("order_completed")
    assert [(v.number, v.text, v.author) for v in versions] == [
        (2, "two\n", "alice"),
        (1, "one\n", os_user()),
    ]
    assert versions[1].label() == f"#1  2026-12-01 23:40 UTC  {os_user()}  4 bytes"
    assert history.versions("order_refunded") == []
    assert history.get("order_completed", 1).text == "one\n"


def test_at_most_the_limit_is_kept(tmp_path: Path) -> None:
    history = TemplateHistory(tmp_path)
    for n in range(105):
        history.record("customer_created", f"text {n}")
    versions = history.versions("customer_created")
    assert len(versions) == 100
    assert versions[0].number == 105 and versions[-1].number == 6


def test_a_damaged_history_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "order_updated.json").write_text("{oops")
    with pytest.raises(ConfigError, match=r"order_updated\.json"):
        TemplateHistory(tmp_path).versions("order_updated")


def test_diff_against_the_current_text() -> None:
    text = diff("a\nb\n", "a\nc\n", "#3", "current")
    assert text.splitlines() == ["--- #3", "+++ current", "@@ -1,2 +1,2 @@", " a", "-b", "+c"]
    assert diff("same", "same") == ""
