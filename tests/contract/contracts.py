"""Our JSON Schemas of the two APIs' shapes, and which one applies to a request or an answer.

The schemas (``schemas/*.json``) are written from the documented facts in docs/API_FACTS.md, not
copied from the published descriptions. ``answer_problems`` and ``request_problems`` say what is
wrong with one exchange, in words a failing test can show.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource

SCHEMAS = Path(__file__).parent / "schemas"
_ID = "[^/]+"

#: (method, path pattern, status) -> schema of the answer body, by the schema's prefix (the
#: service). First match wins.
ANSWERS: list[tuple[str, re.Pattern[str], str, str]] = [
    (m, re.compile(p), s, name)
    for m, p, s, name in [
        ("POST", r"/oauth/access_token", "200", "commerce_token"),
        ("GET", r"/v2/integrations", "200", "commerce_integration_list"),
        ("POST", r"/v2/integrations", "200", "commerce_integration_answer"),
        ("GET", r"/v2/integrations/logs", "200", "commerce_log_list"),
        ("GET", rf"/v2/integrations/{_ID}", "200", "commerce_integration_answer"),
        ("PUT", rf"/v2/integrations/{_ID}", "200", "commerce_integration_answer"),
        ("GET", rf"/v2/integrations/{_ID}/logs", "200", "commerce_log_list"),
        ("GET", rf"/v2/integrations/{_ID}/jobs", "200", "commerce_job_list"),
        ("GET", rf"/v2/integrations/{_ID}/jobs/{_ID}/logs", "200", "commerce_log_list"),
        ("*", r"/(oauth|v2)/.*", "4xx", "commerce_error"),
        ("*", r"/(oauth|v2)/.*", "5xx", "commerce_error"),
        ("POST", r"/v1/(batch|track|identify|page|screen|group|alias)", "200", "segment_answer"),
    ]
]

#: (method, path pattern) -> schemas of the request body our clients send.
REQUESTS: list[tuple[str, re.Pattern[str], tuple[str, ...]]] = [
    ("POST", re.compile(r"/oauth/access_token"), ("commerce_token_request",)),
    (
        "POST",
        re.compile(r"/v2/integrations"),
        ("commerce_integration_request", "commerce_integration_create"),
    ),
    ("PUT", re.compile(rf"/v2/integrations/{_ID}"), ("commerce_integration_request",)),
    ("POST", re.compile(r"/v1/batch"), ("segment_batch",)),
]


@cache
def _registry() -> Registry:
    resources = []
    for path in sorted(SCHEMAS.glob("*.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        resources.append((schema["$id"], Resource.from_contents(schema)))
    return Registry().with_resources(resources)


@cache
def validator(name: str) -> Draft202012Validator:
    schema = _registry().contents(f"urn:segment-desktop:contract:{name}")
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, registry=_registry(), format_checker=FormatChecker())


def problems(name: str, instance: Any) -> list[str]:
    """Each way ``instance`` breaks schema ``name``, as ``name: path: message``."""
    found = validator(name).iter_errors(instance)
    return [f"{name}: {'/'.join(map(str, e.absolute_path)) or '$'}: {e.message}" for e in found]


def schema_names() -> list[str]:
    return sorted(p.stem for p in SCHEMAS.glob("*.json"))


def _status_class(status: int) -> Iterable[str]:
    return (str(status), f"{status // 100}xx")


def answer_schema(service: str, method: str, path: str, status: int) -> str | None:
    """The schema an answer of ``service`` ("commerce" or "segment") must fit, or ``None`` for
    answers we hold no contract for."""
    for want, pattern, code, name in ANSWERS:
        if (
            name.startswith(service + "_")
            and want in (method, "*")
            and pattern.fullmatch(path)
            and code in _status_class(status)
        ):
            return name
    return None


def answer_problems(service: str, method: str, path: str, status: int, body: bytes) -> list[str]:
    name = answer_schema(service, method, path, status)
    if name is None:
        return []
    where = f"{method} {path} answered {status}"
    try:
        instance = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return [f"{where}: not JSON: {body[:80]!r}"]
    return [f"{where}: {p}" for p in problems(name, instance)]


def request_problems(method: str, path: str, instance: Any) -> list[str]:
    """What is wrong with a request body (JSON, or the token form as a dict) we sent."""
    for want, pattern, names in REQUESTS:
        if want == method and pattern.fullmatch(path):
            return [f"{method} {path} sent: {p}" for n in names for p in problems(n, instance)]
    return []
