"""``segment-desktop register``: make the store's integrations match the settings.

Reads the saved settings and the secrets (keyring, or the environment variables named in
``core/secrets.py``), prints the plan, and applies it unless ``--dry-run``. Any of our errors
ends the command with its message on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path

from segment_desktop.core.errors import ConfigError, SegmentDesktopError


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="show what would change at Commerce without changing anything",
    )
    parser.add_argument(
        "--config-dir",
        type=Path,
        metavar="DIR",
        help="read (and update) the settings in DIR instead of the usual place",
    )
    queue = parser.add_argument_group(
        "delivery to an Amazon SQS queue",
        "Commerce puts the events on the queue and relay workers take them off it. The "
        "secret access key comes from AWS_SECRET_ACCESS_KEY or the keyring.",
    )
    queue.add_argument("--sqs-queue-url", metavar="URL", help="deliver to this queue from now on")
    queue.add_argument("--sqs-region", metavar="REGION", default="", help="the queue's region")
    queue.add_argument("--sqs-access-key-id", metavar="ID", default="",
                       help="the access key id Commerce writes to the queue with")  # fmt: skip
    queue.add_argument("--webhook", action="store_true",
                       help="deliver as webhooks to the relay URL again")  # fmt: skip


def run(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except SegmentDesktopError as err:
        print(f"segment-desktop register: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            "segment-desktop register: interrupted; run it again to finish (it picks up "
            "where it stopped).",
            file=sys.stderr,
        )
        return 130


def _run(args: argparse.Namespace) -> int:
    # imported here so that `segment-desktop --help` stays fast
    from segment_desktop.commerce import CommerceClient
    from segment_desktop.core.config import Config, ConfigStore
    from segment_desktop.core.secrets import (
        COMMERCE_CLIENT_SECRET,
        SQS_SECRET_ACCESS_KEY,
        WEBHOOK_SECRET,
        SecretStore,
        new_webhook_secret,
    )
    from segment_desktop.registration import plan, register

    store = ConfigStore(args.config_dir)
    config = saved = store.load()
    if getattr(args, "sqs_queue_url", None):
        from segment_desktop.core.delivery import with_queue

        config = with_queue(config, args.sqs_queue_url, args.sqs_region, args.sqs_access_key_id)
    elif getattr(args, "webhook", False):
        config = copy.deepcopy(config)
        config.delivery.kind = "webhook"
    if not config.commerce.base_url.strip() or not config.commerce.client_id.strip():
        raise ConfigError(
            f"Commerce is not set up yet: the settings in {store.path} have no API URL or "
            "client ID. Run the setup in the Segment Desktop app first."
        )
    secrets = SecretStore()
    client_secret = secrets.get(COMMERCE_CLIENT_SECRET)
    if not client_secret:
        raise ConfigError(
            "No Commerce client secret is stored. Run the setup in the app, or set the "
            "COMMERCE_CLIENT_SECRET environment variable."
        )
    # A queue delivery needs its secret access key, not the webhook secret (nor a keyring).
    queued = config.delivery.kind == "aws_sqs"
    webhook_secret = "" if queued else secrets.get(WEBHOOK_SECRET) or ""
    generated = not queued and not webhook_secret
    if generated:
        webhook_secret = new_webhook_secret()

    with CommerceClient(
        config.commerce.base_url, config.commerce.client_id, client_secret
    ) as client:
        if client.note:
            print(f"Note: {client.note}")
        queue_key = secrets.get(SQS_SECRET_ACCESS_KEY) if queued else ""
        keys = {WEBHOOK_SECRET: webhook_secret, SQS_SECRET_ACCESS_KEY: queue_key or ""}
        the_plan = plan(config, keys, client.list_integrations())
        print(the_plan.summary())
        if generated and the_plan.desired:
            print("No webhook secret was stored: a new one is generated for these integrations.")
        if args.dry_run:
            print("Dry run: nothing was changed.")
            return 0

        def persist(updated: Config) -> None:
            if updated != saved:
                store.save(updated)

        result = register(the_plan, client, secrets, webhook_secret, persist)
    if result.applied:
        print(result.summary())
    return 0
