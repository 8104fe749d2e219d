"""The suite refuses to run a Qt test that lacks the ``gui`` mark (``tests/conftest.py``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

#: The repository, so the test run in a subprocess imports ``tests.fixtures``.
REPO = Path(__file__).resolve().parent.parent

CONFTEST = """
from pathlib import Path

from tests.fixtures.gui_mark import check_gui_marks


def pytest_collection_modifyitems(config, items):
    check_gui_marks(items, Path(__file__).parent / "ui")
"""

INI = """
[pytest]
markers =
    gui: needs Qt
"""


@pytest.fixture
def suite(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    path = os.environ.get("PYTHONPATH")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(REPO), *([path] if path else [])]))
    pytester.makeconftest(CONFTEST)
    pytester.makeini(INI)
    pytester.mkpydir("ui")
    return pytester


def test_a_test_using_qtbot_without_the_mark_stops_the_run(suite: pytest.Pytester) -> None:
    suite.makepyfile(
        test_widget="def test_widget(qtbot):\n    pass\n",
        test_plain="def test_plain():\n    pass\n",
    )
    result = suite.runpytest_subprocess("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*lack the gui mark*", "*test_widget.py::test_widget (uses qapp, qtbot)"]
    )
    assert "test_plain" not in result.stderr.str()


def test_a_fixture_that_needs_qtbot_counts_too(suite: pytest.Pytester) -> None:
    suite.makepyfile(
        test_window=(
            "import pytest\n\n"
            "@pytest.fixture\n"
            "def window(qtbot):\n"
            "    return None\n\n"
            "def test_window(window):\n"
            "    pass\n"
        )
    )
    result = suite.runpytest_subprocess("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*test_window.py::test_window (uses qapp, qtbot)"])


def test_any_test_under_ui_needs_the_mark(suite: pytest.Pytester) -> None:
    (suite.path / "ui" / "test_model.py").write_text("def test_model():\n    pass\n")
    result = suite.runpytest_subprocess("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*ui/test_model.py::test_model (is under *ui/)"])


def test_marked_qt_tests_run(suite: pytest.Pytester) -> None:
    suite.makepyfile(
        test_widget=(
            "import pytest\n\npytestmark = pytest.mark.gui\n\ndef test_widget(qtbot):\n    pass\n"
        )
    )
    (suite.path / "ui" / "test_model.py").write_text(
        "import pytest\n\n@pytest.mark.gui\ndef test_model():\n    pass\n"
    )
    result = suite.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
