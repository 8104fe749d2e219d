"""``segment-desktop register``: make the store's integrations match the settings.

Reads the saved settings and the secrets (keyring, or the environment variables named in
``core/secrets.py``), prints the plan, and applies it unless ``--dry-run``. Any of our errors
ends the command with its message on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
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
        WEBHOOK_SECRET,
        SecretStore,
        new_webhook_secret,
    )
    from segment_desktop.registration import plan, register

    store = ConfigStore(args.config_dir)
    config = store.load()
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
    webhook_secret = secrets.get(WEBHOOK_SECRET)
    generated = not webhook_secret
    if not webhook_secret:
        webhook_secret = new_webhook_secret()

    with CommerceClient(
        config.commerce.base_url, config.commerce.client_id, client_secret
    ) as client:
        if client.note:
            print(f"Note: {client.note}")
        the_plan = plan(config, webhook_secret, client.list_integrations())
        print(the_plan.summary())
        if generated and the_plan.desired:
            print("No webhook secret was stored: a new one is generated for these integrations.")
        if args.dry_run:
            print("Dry run: nothing was changed.")
            return 0

        def persist(updated: Config) -> None:
            if updated != config:
                store.save(updated)

        result = register(the_plan, client, secrets, webhook_secret, persist)
    if result.applied:
        print(result.summary())
    return 0
