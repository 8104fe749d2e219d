"""The studio's code editor and highlighters, without the rest of the studio."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QColor, QTextCharFormat, QTextDocument
from PySide6.QtWidgets import QPlainTextEdit, QTextEdit
from pytestqt.qtbot import QtBot

from segment_desktop.ui.studio.editor import CodeEditor, bracket_partner, code_mask
from segment_desktop.ui.studio.highlighter import JsonataHighlighter, JsonHighlighter, Palette

pytestmark = pytest.mark.gui


def formats_of(doc: QTextDocument, block_number: int) -> list[tuple[str, str]]:
    """(text, foreground colour) runs the highlighter gave one line."""
    block = doc.findBlockByNumber(block_number)
    text = block.text()
    runs = []
    for r in block.layout().formats():
        fmt: QTextCharFormat = r.format
        runs.append((text[r.start : r.start + r.length], fmt.foreground().color().name()))
    return runs


def test_jsonata_highlighter_colours_each_kind(qtbot: QtBot) -> None:
    view = QPlainTextEdit()
    qtbot.addWidget(view)
    doc = view.document()
    highlighter = JsonataHighlighter(doc)
    doc.setPlainText(
        '$x := $amount(payload.data, "GBP") and 12.5 /* note "q" */\n'
        "/* open\n still comment\n end */ true ~> $string"
    )
    highlighter.rehighlight()
    p = Palette()
    runs = formats_of(doc, 0)
    assert ("$x", p.variable) in runs
    assert ("$amount", p.function) in runs
    assert ('"GBP"', p.string) in runs
    assert ("and", p.keyword) in runs
    assert ("12.5", p.number) in runs
    assert (":=", p.operator) in runs
    assert ('/* note "q" */', p.comment) in runs  # the quote inside does not open a string
    assert formats_of(doc, 1) == [("/* open", p.comment)]
    assert formats_of(doc, 2) == [(" still comment", p.comment)]
    last = formats_of(doc, 3)
    assert last[0] == (" end */", p.comment)
    assert ("true", p.keyword) in last
    assert ("$string", p.variable) in last  # no "(" after it: a variable, not a call
    assert ("payload", QColor().name()) not in runs  # plain paths stay unformatted


def test_json_highlighter_tells_keys_from_strings(qtbot: QtBot) -> None:
    view = QPlainTextEdit()
    qtbot.addWidget(view)
    doc = view.document()
    highlighter = JsonHighlighter(doc)
    doc.setPlainText('{"event": "Order Paid", "n": -1.5e3, "ok": true}')
    highlighter.rehighlight()
    p = Palette()
    runs = formats_of(doc, 0)
    assert ('"event"', p.key) in runs
    assert ('"Order Paid"', p.string) in runs
    assert ("-1.5e3", p.number) in runs
    assert ("true", p.literal) in runs


def test_code_mask_and_bracket_partner_skip_strings_and_comments() -> None:
    text = '( "(" /* ) */ [1, 2] )'
    mask = code_mask(text)
    assert mask[0] and not mask[3] and not mask[9]
    assert bracket_partner(text, 0) == len(text) - 1
    assert bracket_partner(text, len(text) - 1) == 0
    assert bracket_partner(text, text.index("[")) == text.index("]")
    assert bracket_partner(text, 3) is None  # inside a string
    assert bracket_partner("((]", 0) is None
    assert bracket_partner("x", 5) is None


def selections_backgrounds(editor: CodeEditor) -> list[tuple[int, int, str]]:
    found = []
    for sel in editor.extraSelections():
        assert isinstance(sel, QTextEdit.ExtraSelection)
        found.append(
            (
                sel.cursor.selectionStart(),
                sel.cursor.selectionEnd(),
                sel.format.background().color().name(),
            )
        )
    return found


def test_editor_highlights_matching_and_unmatched_brackets(qtbot: QtBot) -> None:
    editor = CodeEditor()
    qtbot.addWidget(editor)
    editor.setPlainText('{"a": [1, 2]}')
    cursor = editor.textCursor()
    cursor.setPosition(0)
    editor.setTextCursor(cursor)
    assert editor.bracket_match == (0, 12)
    assert (0, 1, "#c8e6c9") in selections_backgrounds(editor)
    assert (12, 13, "#c8e6c9") in selections_backgrounds(editor)
    cursor.setPosition(11)  # on "]"
    editor.setTextCursor(cursor)
    assert editor.bracket_match == (11, 6)
    editor.setPlainText("(1 + 2")
    cursor = editor.textCursor()
    cursor.setPosition(0)
    editor.setTextCursor(cursor)
    assert editor.bracket_match == (0, None)
    assert (0, 1, "#ffcdd2") in selections_backgrounds(editor)


def test_error_marker_squiggles_the_token_and_clamps(qtbot: QtBot) -> None:
    editor = CodeEditor()
    qtbot.addWidget(editor)
    editor.setPlainText("line one\n  $bad_name + 1\n")
    editor.set_error(2, 3, "Unknown function")
    assert editor.error == (2, 3, "Unknown function")
    start, end = editor.error_span() or (0, 0)
    assert editor.toPlainText()[start:end] == "$bad_name"
    squiggles = [
        s
        for s in editor.extraSelections()
        if s.format.underlineStyle() == QTextCharFormat.UnderlineStyle.WaveUnderline
    ]
    assert len(squiggles) == 1
    assert squiggles[0].format.toolTip() == "Unknown function"
    editor.go_to_error()
    assert editor.textCursor().position() == start
    editor.set_error(99, 99, "past the end")
    assert editor.error is not None and editor.error[0] == 3  # clamped to the last line
    editor.clear_error()
    assert editor.error is None and editor.error_span() is None
    assert not any(
        s.format.underlineStyle() == QTextCharFormat.UnderlineStyle.WaveUnderline
        for s in editor.extraSelections()
    )


def test_gutter_grows_with_the_line_count(qtbot: QtBot) -> None:
    editor = CodeEditor()
    qtbot.addWidget(editor)
    editor.setPlainText("x")
    narrow = editor.gutter_width()
    editor.setPlainText("\n".join("x" for _ in range(12_000)))
    assert editor.gutter_width() > narrow
    assert editor.viewportMargins().left() == editor.gutter_width()
