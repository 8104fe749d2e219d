"""The preview's text view: replacing its text edits only the changed stretch."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pytestqt.qtbot import QtBot

from segment_desktop.ui.studio.json_view import JsonView, changed_span

pytestmark = pytest.mark.gui

TEXTS = st.text(alphabet=st.sampled_from(list("ab{}\n \u00a0é😀")), max_size=40)


@given(TEXTS, TEXTS)
def test_the_changed_span_turns_the_old_text_into_the_new(old: str, new: str) -> None:
    start, old_end, new_end = changed_span(old, new)
    assert old[:start] == new[:start]
    assert old[old_end:] == new[new_end:]
    assert old[:start] + new[start:new_end] + old[old_end:] == new
    assert start <= old_end and start <= new_end


def test_the_view_shows_exactly_the_new_text_including_wide_characters(qtbot: QtBot) -> None:
    view = JsonView()
    qtbot.addWidget(view)
    texts = ["", '{"a": "😀 x"}', '{"a": "😀😀 y"}', '{"b": "é"}', '{"b": "é"}', ""]
    for text in texts:
        view.show_text(text)
        assert view.text == text
        assert view.toPlainText() == text
    assert not view.document().isUndoAvailable()  # no history piles up behind the preview


def test_a_small_change_keeps_the_reader_where_they_were(qtbot: QtBot) -> None:
    view = JsonView()
    qtbot.addWidget(view)
    view.resize(400, 200)
    view.show()
    lines = [{"line": n, "name": f"item {n}"} for n in range(300)]
    view.show_text(json.dumps(lines, indent=2))
    bar = view.verticalScrollBar()
    bar.setValue(bar.maximum() // 2)
    middle = bar.value()
    lines[0]["name"] = "changed at the top"
    lines[299]["name"] = "and at the bottom"
    view.show_text(json.dumps(lines, indent=2))
    assert view.toPlainText() == json.dumps(lines, indent=2)
    assert bar.value() == middle
