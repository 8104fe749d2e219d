"""``segment-desktop render``: a Commerce event through a template, printed as Segment calls.

Exit codes: 0 done (warnings on stderr), 2 a template or event error, 3 with ``--check`` when a call
would be discarded by Segment.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

EXIT_OK = 0
EXIT_ERROR = 2
EXIT_CHECK_FAILED = 3


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--event",
        required=True,
        metavar="EVENT.json",
        help="a Commerce webhook body (as delivered) in a file, or - for stdin",
    )
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--template", metavar="FILE.jsonata", help="render this template file")
    which.add_argument(
        "--for",
        dest="template_name",
        metavar="NAME",
        help='render this configured template, e.g. "Order Completed"',
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="check each call as Segment will; exit 3 if one would be discarded",
    )
    parser.add_argument(
        "--engine",
        choices=("auto", "jsonata-python", "jlens"),
        default=None,
        help="template engine (default: jlens when installed)",
    )
    parser.add_argument(
        "--config-dir",
        type=Path,
        default=None,
        help="configuration folder (default: the application's)",
    )


def run(args: argparse.Namespace) -> int:
    from segment_desktop.core.errors import SegmentDesktopError

    try:
        return _run(args)
    except SegmentDesktopError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_ERROR


def _run(args: argparse.Namespace) -> int:
    from segment_desktop.core import spec
    from segment_desktop.core.envelope import parse_event_text
    from segment_desktop.core.errors import EventError, TemplateError
    from segment_desktop.core.events import template, templates_for_event
    from segment_desktop.core.render import Renderer

    event = parse_event_text(_read(args.event, "event", EventError))
    overrides, chosen = _configured(args.config_dir)
    if args.template:
        jobs = [("template", _read(args.template, "template", TemplateError))]
    elif args.template_name:
        try:
            key = template(args.template_name).key
        except KeyError as err:
            raise EventError(str(err.args[0])) from None
        jobs = [(key, overrides.get(key) or _default(key))]
    else:
        specs = templates_for_event(event.triggered_by, chosen)
        if not specs:
            print(
                f"No enabled template tracks {event.triggered_by}; nothing to send.",
                file=sys.stderr,
            )
            print("[]")
            return EXIT_OK
        jobs = [(s.key, overrides.get(s.key) or _default(s.key)) for s in specs]

    try:
        renderer = Renderer(args.engine)
    except ValueError as err:
        raise EventError(str(err)) from None
    calls = []
    for key, text in jobs:
        try:
            calls.extend(renderer.render(text, event, template_key=key).calls)
        except TemplateError as err:
            where = f" at {err.line}:{err.column}" if err.line is not None else ""
            print(f"template error {err.code}{where}: {err.message}", file=sys.stderr)
            return EXIT_ERROR
    output = calls[0] if len(calls) == 1 else calls
    print(json.dumps(output, indent=2, ensure_ascii=False))
    if not args.check:
        return EXIT_OK
    failed = False
    for index, call in enumerate(calls):
        for issue in spec.check_call(call):
            print(f"call {index + 1}: {issue}", file=sys.stderr)
            failed = failed or issue.level == "error"
    return EXIT_CHECK_FAILED if failed else EXIT_OK


def _read(path: str, what: str, error: type[Exception]) -> str:
    from segment_desktop.core.errors import EventError, TemplateError

    try:
        if path == "-":
            return sys.stdin.read()
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        reason = getattr(err, "strerror", None) or str(err)
        message = f"Cannot read the {what} file {path}: {reason}."
        if error is TemplateError:
            raise TemplateError("SD300", message) from None
        raise EventError(message) from None


def _default(key: str) -> str:
    from segment_desktop.core.templates import default_template

    return default_template(key)


def _configured(config_dir: Path | None) -> tuple[dict[str, str], dict[str, str]]:
    """Template overrides and chosen events from the saved configuration (defaults if none)."""
    from segment_desktop.core.config import ConfigStore

    config = ConfigStore(config_dir).load()
    return dict(config.template_overrides), config.chosen_events()
