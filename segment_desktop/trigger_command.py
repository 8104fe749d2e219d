"""``segment-desktop trigger EVENT --to URL``: send a Commerce webhook to a relay, on purpose.

The body is a built-in sample of EVENT (``--sample`` picks a variant) or, with ``--latest``, the
store's latest order or customer; ``--set PATH=VALUE`` changes it (VALUE is JSON). The webhook
secret comes from the keyring (or ``COMMERCE_WEBHOOK_SECRET``), sent the way Commerce sends it.

Exit codes: 0 the relay answered 2xx, 1 it answered something else, 2 nothing was sent (a bad
event, sample, override, URL or a missing secret; the message says which) or no answer came.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_ERROR = 2


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("event", metavar="EVENT", help="the Commerce event, e.g. order.paid")
    parser.add_argument(
        "--to",
        required=True,
        metavar="URL",
        help="the relay's webhook URL, e.g. http://127.0.0.1:8787/webhooks/commerce",
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--sample", metavar="NAME", help="a built-in sample, e.g. order.paid.kwd")
    source.add_argument(
        "--latest",
        action="store_true",
        help="the store's latest order or customer instead of a sample (needs Commerce set up)",
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="PATH=VALUE",
        help="change the body before sending; VALUE is JSON: "
        "--set payload.data.meta.display_price.with_tax.currency='\"JPY\"'",
    )
    parser.add_argument(
        "--show-body", action="store_true", help="print the body sent before the answer"
    )
    parser.add_argument(
        "--config-dir", type=Path, metavar="DIR", help="the settings folder (default: the app's)"
    )


def run(args: argparse.Namespace) -> int:
    from segment_desktop.core.errors import SegmentDesktopError

    try:
        return _run(args)
    except SegmentDesktopError as err:
        print(f"segment-desktop trigger: {err}", file=sys.stderr)
        return EXIT_ERROR


def _run(args: argparse.Namespace) -> int:
    from segment_desktop.core.errors import EventError
    from segment_desktop.core.events import ALL_EVENTS
    from segment_desktop.core.webhook_trigger import build_body, parse_override, sample_body
    from segment_desktop.webhook_client import send_webhook

    if args.event not in ALL_EVENTS:
        raise EventError(f"Unknown event {args.event!r}. Events: {', '.join(ALL_EVENTS)}.")
    for text in args.overrides:
        parse_override(text)  # a bad override is reported before anything is fetched
    secret = _webhook_secret()
    base = _latest(args) if args.latest else sample_body(args.event, args.sample)
    body = build_body(args.event, base, args.overrides)
    if args.show_body:
        shown = {k: v for k, v in body.items() if k != "resources"}
        print(json.dumps(shown, indent=2, ensure_ascii=False))
    answer = send_webhook(args.to, body, secret)
    print(f"event {body['id']} ({args.event})")
    print(answer.describe())
    return EXIT_OK if answer.ok else EXIT_REFUSED


def _webhook_secret() -> str:
    from segment_desktop.core.errors import ConfigError
    from segment_desktop.core.secrets import WEBHOOK_SECRET, SecretStore
    from segment_desktop.webhook_client import NO_SECRET

    secret = SecretStore().get(WEBHOOK_SECRET)
    if not secret:
        raise ConfigError(NO_SECRET)
    return secret


def _latest(args: argparse.Namespace) -> dict[str, object]:
    from segment_desktop.commerce import CommerceClient
    from segment_desktop.core.config import ConfigStore
    from segment_desktop.core.errors import ConfigError
    from segment_desktop.core.secrets import COMMERCE_CLIENT_SECRET, SecretStore
    from segment_desktop.webhook_client import latest_event

    config = ConfigStore(args.config_dir).load()
    client_secret = SecretStore().get(COMMERCE_CLIENT_SECRET)
    if not config.commerce.base_url or not config.commerce.client_id or not client_secret:
        raise ConfigError(
            "Commerce is not set up, so there is no store to read the latest event from. Run "
            "the setup in the app, or use a built-in sample (--sample)."
        )
    with CommerceClient(config.commerce.base_url, config.commerce.client_id, client_secret) as c:
        return latest_event(c, args.event)
