"""The renderer adapter, fed anything: calls or a TemplateError with a code, on both engines."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from segment_desktop.core import engine as engines
from segment_desktop.core.envelope import to_event
from segment_desktop.core.errors import TemplateError
from segment_desktop.core.render import Renderer

EVENT = to_event(
    {
        "id": "evt-1",
        "triggered_by": "order.paid",
        "payload": {"data": {"id": "o1", "email": "a@example.com", "n": 3, "items": [1, 2]}},
    }
)

#: Pieces of JSONata a template is made of, glued at random: mostly wrong, sometimes right.
PIECES = st.sampled_from(
    [
        "{", "}", "[", "]", "(", ")", ",", ":", ";", ".", "$", "&", "+", "-", "*", "/", "=",
        "?", "..", ":=", '"type"', '"track"', '"userId"', '"event"', "payload", "data", "id",
        "email", "n", "items", "$string", "$number", "$sum", "$count", "$map", "$amount",
        "$anonymousId", "$eval", "$pad", "$join", "$split", "$substring", "$error", "$append",
        "function($x){$x}", "1", "0", "-1", "1e308", "null", "true", '"x"', "'y'", "/[a-z]+/",
        "$now()", "$millis()", "%", "^", "#", "@", "~>", "\\u0000", "\U0001f600",
    ]
)  # fmt: skip
TEMPLATES = st.lists(PIECES, max_size=25).map(" ".join) | st.text(max_size=60)


@pytest.fixture(scope="module", params=engines.available_engines())
def renderer(request: pytest.FixtureRequest) -> Renderer:
    return Renderer(request.param)


@settings(max_examples=250, deadline=None)
@given(text=TEMPLATES)
def test_any_template_text_renders_or_gives_a_template_error(renderer: Renderer, text: str) -> None:
    try:
        result = renderer.render(text, EVENT)
    except TemplateError as err:
        assert err.code and err.message
        assert err.line is None or err.line >= 1
    else:
        assert all(isinstance(call, dict) for call in result.calls)


@settings(max_examples=100, deadline=None)
@given(text=TEMPLATES)
def test_compile_errors_point_inside_the_template(renderer: Renderer, text: str) -> None:
    try:
        renderer.compile(text)
    except TemplateError as err:
        if err.line is not None:
            assert err.line <= text.count("\n") + 1
