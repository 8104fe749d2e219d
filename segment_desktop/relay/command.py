"""``segment-desktop relay``: receive Commerce webhooks and deliver them to Segment, headless.

Subcommands: ``serve`` (the default), ``status``, ``parked``, ``replay [--id EVENT_ID …]``,
``purge [--older-than DAYS] [--id EVENT_ID …]``.

Settings come from the saved configuration; each can be overridden by an environment variable
(see :data:`segment_desktop.relay.settings.ENVIRONMENT`) and then by a flag. Secrets come from
``SEGMENT_WRITE_KEY`` and ``COMMERCE_WEBHOOK_SECRET`` when set, otherwise from the OS keyring.

Running it for a real store: Commerce must reach ``/webhooks/commerce`` from the internet, and
the webhook secret travels in a header, so put the relay behind a reverse proxy that terminates
TLS (listen on 127.0.0.1 behind it, or ``0.0.0.0:PORT`` when the proxy is elsewhere). SIGTERM or
Ctrl-C stops accepting, lets deliveries in flight finish, sends what is due for up to
``SEGMENT_DESKTOP_RELAY_FLUSH_SECONDS`` (5 s) and keeps the rest in the outbox for the next
start. ``GET /healthz`` and ``GET /metrics`` (Prometheus text) are on the same port.

Webhooks are parsed and rendered in ``--render-processes N`` worker processes
(``SEGMENT_DESKTOP_RELAY_RENDER_PROCESSES``; default one per CPU, at most 4), so that rendering
runs in parallel with HTTP, commits and sending; 0 renders on threads of the relay's own
process. The
workers exit with the relay, however it ends. Under systemd, ``KillMode=mixed`` lets the
relay stop them itself after the deliveries in flight.

Calls Segment refused and template errors hold customer data: they are deleted after
``--retention-days`` (``SEGMENT_DESKTOP_RELAY_RETENTION_DAYS``, 30 by default), and ``purge``
deletes them at once (see :mod:`segment_desktop.relay.retention`).

Exit codes: 0 done, 2 a problem the user must fix (settings, secrets, address in use), 1 an
unexpected failure. Only light modules are imported here at import time.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from segment_desktop.core.config import Config, ConfigStore
    from segment_desktop.relay.settings import RelaySettings

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USER_ERROR = 2

log = logging.getLogger("segment_desktop.relay")


def _add_common(parser: argparse.ArgumentParser, *, sub: bool) -> None:
    # On a subcommand the defaults are SUPPRESS, so a flag given before the subcommand is kept.
    default: Any = argparse.SUPPRESS if sub else None
    parser.add_argument(
        "--config-dir", type=Path, default=default, metavar="DIR",
        help="configuration folder (default: $SEGMENT_DESKTOP_CONFIG_DIR or the application's)",
    )  # fmt: skip
    parser.add_argument(
        "--data-dir", default=default, metavar="DIR",
        help="where the outbox is kept (default: $SEGMENT_DESKTOP_DATA_DIR or the platform's)",
    )  # fmt: skip
    parser.add_argument(
        "--listen", default=default, metavar="HOST:PORT",
        help="address to accept webhooks on (default: $SEGMENT_DESKTOP_RELAY_LISTEN "
        "or 127.0.0.1:8787; 0.0.0.0:PORT for every interface)",
    )  # fmt: skip
    parser.add_argument(
        "--segment-host", default=default, metavar="URL",
        help="Segment API host (default: $SEGMENT_DESKTOP_SEGMENT_HOST or the saved setting)",
    )  # fmt: skip


def _add_serve(parser: argparse.ArgumentParser, *, sub: bool) -> None:
    from segment_desktop.relay.sqs_command import add_arguments

    add_arguments(parser, argparse.SUPPRESS if sub else None)
    parser.add_argument(
        "--retention-days", type=float, default=argparse.SUPPRESS if sub else None, metavar="DAYS",
        help="delete calls Segment refused and template errors (they hold customer data) after "
        "DAYS days (default: $SEGMENT_DESKTOP_RELAY_RETENTION_DAYS or 30)",
    )  # fmt: skip
    parser.add_argument(
        "--render-processes", type=int, default=argparse.SUPPRESS if sub else None, metavar="N",
        help="processes that parse and render webhooks (default: "
        "$SEGMENT_DESKTOP_RELAY_RENDER_PROCESSES, else one per CPU, at most 4; 0 renders on "
        "threads of the relay's own process)",
    )  # fmt: skip


def configure(parser: argparse.ArgumentParser) -> None:
    parser.epilog = (
        "Secrets come from SEGMENT_WRITE_KEY and COMMERCE_WEBHOOK_SECRET, else the OS keyring. "
        "Commerce must reach /webhooks/commerce from the internet: put the relay behind a "
        "reverse proxy that terminates TLS. GET /healthz and GET /metrics are on the same port."
    )
    _add_common(parser, sub=False)
    _add_serve(parser, sub=False)
    parser.set_defaults(relay_command="serve")
    sub = parser.add_subparsers(dest="relay_command", metavar="SUBCOMMAND")
    serve = sub.add_parser("serve", help="receive webhooks and deliver them (the default)")
    status = sub.add_parser("status", help="show what the outbox holds")
    parked = sub.add_parser("parked", help="list calls Segment refused and template errors")
    replay = sub.add_parser(
        "replay", help="render template errors again and re-queue refused calls"
    )
    purge = sub.add_parser(
        "purge", help="delete refused calls and template errors (and the event bodies kept "
        "for them) now"
    )  # fmt: skip
    purge.add_argument(
        "--older-than", type=float, default=0.0, metavar="DAYS",
        help="only what was stored more than DAYS days ago (default: everything parked)",
    )  # fmt: skip
    for command in (replay, purge):
        command.add_argument(
            "--id", dest="event_ids", action="append", metavar="EVENT_ID",
            help="only this Commerce event (repeat for several; default: everything parked)",
        )  # fmt: skip
    for command in (serve, status, parked, replay, purge):
        _add_common(command, sub=True)
    _add_serve(serve, sub=True)
    for command in (status, parked, replay, purge):
        command.add_argument("--json", action="store_true", help="print JSON")
    from segment_desktop.relay.sqs_command import add_arguments

    add_arguments(status, argparse.SUPPRESS)


def run(args: argparse.Namespace) -> int:
    from segment_desktop.core.errors import SegmentDesktopError

    command = getattr(args, "relay_command", None) or "serve"
    try:
        if command == "serve":
            return _serve(args)
        if command == "status":
            return _status(args)
        if command == "parked":
            return _parked(args)
        if command == "purge":
            return _purge(args)
        return _replay(args)
    except SegmentDesktopError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        return EXIT_FAILED


# -- shared ----------------------------------------------------------------------------------


def _store(args: argparse.Namespace) -> ConfigStore:
    from segment_desktop.core.config import ConfigStore

    return ConfigStore(getattr(args, "config_dir", None))


def _settings(args: argparse.Namespace, config: Config, engine: str = "") -> RelaySettings:
    """``engine``: the template engine serving will use (its default render processes)."""
    from segment_desktop.relay.settings import resolve

    return resolve(
        config_segment_host=config.segment.host,
        config_segment_path=config.segment.path,
        listen=getattr(args, "listen", None),
        data_dir=getattr(args, "data_dir", None),
        segment_host=getattr(args, "segment_host", None),
        render_processes=getattr(args, "render_processes", None),
        retention_days=getattr(args, "retention_days", None),
        engine=engine,
    )


def _secret(name: str) -> str:
    from segment_desktop.core.errors import SecretStoreError
    from segment_desktop.core.secrets import ENVIRONMENT_VARIABLES, LABELS, SecretStore

    variable = ENVIRONMENT_VARIABLES[name]
    try:
        value = SecretStore().get(name)
    except SecretStoreError as err:
        raise SecretStoreError(
            f"The relay needs the {LABELS[name]}: set {variable}, or make the keyring usable. {err}"
        ) from None
    if not value:
        raise SecretStoreError(
            f"The relay needs the {LABELS[name]}, and there is none: set the environment "
            f"variable {variable}, or save it in Segment Desktop (it goes to the OS keyring)."
        )
    return value


def _forget_secret_variables() -> None:
    """Drop the secrets' environment variables from this process's environment.

    The relay has read them; the processes it starts (render processes, their replacements)
    inherit its environment and have no use for them.
    """
    import os

    from segment_desktop.core.secrets import ENVIRONMENT_VARIABLES

    for variable in ENVIRONMENT_VARIABLES.values():
        os.environ.pop(variable, None)


# -- serve -----------------------------------------------------------------------------------


def _serve(args: argparse.Namespace) -> int:
    from segment_desktop.core.logs import setup_logging

    setup_logging(console=True)
    store = _store(args)
    config = store.load()
    from segment_desktop.core.engine import engine_name
    from segment_desktop.core.errors import ConfigError
    from segment_desktop.core.secrets import SEGMENT_WRITE_KEY, WEBHOOK_SECRET

    try:
        engine = engine_name()
    except ValueError as err:  # an unknown or missing engine in $SEGMENT_DESKTOP_ENGINE
        raise ConfigError(str(err)) from None
    from segment_desktop.relay import sqs_command

    queue = sqs_command.queue_settings(args, config)
    if queue is not None:  # a worker on an SQS queue, not a webhook receiver
        return sqs_command.serve(args, config, queue)
    settings = _settings(args, config, engine)

    write_key = _secret(SEGMENT_WRITE_KEY)
    webhook_secret = _secret(WEBHOOK_SECRET)
    _forget_secret_variables()  # read once; render processes started from now on never see them

    from segment_desktop.relay.app import WEBHOOK_PATH, WebhookApp, WebhookLimits
    from segment_desktop.relay.rendering import TemplateConfig
    from segment_desktop.relay.retention import DAY, Retention
    from segment_desktop.relay.runtime import Relay, SegmentTarget
    from segment_desktop.relay.server import bind, url_of, uvicorn_server
    from segment_desktop.segment import segment_endpoint

    segment_endpoint(settings.segment_host, settings.segment_path)  # a bad URL fails here
    templates = TemplateConfig.from_config(config)
    if not templates.chosen:
        log.warning("No template is enabled: every event will be acknowledged and dropped")
    sock = bind(settings.host, settings.port)
    relay = Relay(
        templates=templates,
        segment=SegmentTarget(settings.segment_host, settings.segment_path, write_key),
        data_dir=settings.data_dir,
        render_processes=settings.render_processes,
        retention=Retention(parked_seconds=settings.retention_days * DAY),
    )
    app = WebhookApp(relay, webhook_secret, WebhookLimits(max_body_bytes=settings.max_body_bytes))
    server = uvicorn_server(app)
    # From here a SIGINT / SIGTERM means "stop gracefully", whenever it comes: before uvicorn
    # runs it stops it at once; while uvicorn runs, uvicorn handles it and re-raises it on its
    # way out, which lands here too instead of killing the process before the flush below.
    previous = _absorb_signals(server)
    from segment_desktop.relay.watcher import SettingsWatcher

    def apply(saved: Config) -> None:
        relay.renderer.update(TemplateConfig.from_config(saved))

    watcher = SettingsWatcher(store, apply, relay.reports)
    try:
        relay.start(freeze_heap=True)
        watcher.start()
        url = url_of(sock) + WEBHOOK_PATH
        log.info("Relay listening on %s, sending to %s", url, settings.segment_host)
        print(f"Relay listening on {url}", flush=True)
        server.run(sockets=[sock])
    finally:
        watcher.stop()
        sock.close()
        relay.stop(settings.flush_seconds)
        _restore_signals(previous)
    log.info("Relay stopped")
    return EXIT_OK


def _absorb_signals(server: Any) -> dict[int, Any]:
    import signal

    def stop(sig: int, frame: object) -> None:
        server.should_exit = True

    wanted = (signal.SIGINT, signal.SIGTERM)
    return {sig: signal.signal(sig, stop) for sig in wanted}


def _restore_signals(previous: dict[int, Any]) -> None:
    import signal

    for sig, handler in previous.items():
        signal.signal(sig, handler)


# -- status, parked, replay -------------------------------------------------------------------


def _data_dir(args: argparse.Namespace) -> Path:
    return _settings(args, _store(args).load()).data_dir


def _status(args: argparse.Namespace) -> int:
    from segment_desktop.relay.sqs_command import print_queue_status, queue_status
    from segment_desktop.relay.status import outbox_path, outbox_stats

    config = _store(args).load()
    data_dir = _settings(args, config).data_dir
    stats = outbox_stats(data_dir)
    queue = queue_status(args, config, data_dir)
    if args.json:
        extra = {"queue": queue} if queue is not None else {}
        print(
            json.dumps({"outbox": str(outbox_path(data_dir)), **asdict(stats), **extra}, indent=2)
        )
        return EXIT_OK
    if queue is not None:
        print_queue_status(queue)
    print(f"Outbox:            {outbox_path(data_dir)}")
    print(f"Events seen:       {stats.events}")
    print(f"Calls waiting:     {stats.pending} ({stats.due} due now)")
    if stats.pending:
        print(f"Oldest waiting:    {_duration(stats.oldest_pending_age)}")
    print(f"Calls refused:     {stats.parked}")
    print(f"Template errors:   {stats.template_errors}")
    if stats.parked or stats.template_errors:
        print("See `segment-desktop relay parked`; after fixing, `segment-desktop relay replay`.")
    return EXIT_OK


def _parked(args: argparse.Namespace) -> int:
    from segment_desktop.relay.status import parked_items

    items = parked_items(_data_dir(args))
    if args.json:
        print(json.dumps([asdict(i) for i in items], indent=2))
        return EXIT_OK
    if not items:
        print("Nothing is parked.")
        return EXIT_OK
    for item in items:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(item.at))
        kind = "template error" if item.kind == "template_error" else "refused by Segment"
        print(f"{when}  {item.event_id}  {item.triggered_by}  {item.template_key}  [{kind}]")
        print(f"    {item.reason}")
    print(f"{len(items)} item(s). Fix the cause, then `segment-desktop relay replay`.")
    return EXIT_OK


def _replay(args: argparse.Namespace) -> int:
    from segment_desktop.relay.rendering import TemplateConfig
    from segment_desktop.relay.replay import replay

    config = _store(args).load()
    settings = _settings(args, config)
    report = replay(settings.data_dir, TemplateConfig.from_config(config), args.event_ids)
    if args.json:
        print(json.dumps(asdict(report), indent=2))
    else:
        print(f"Re-queued {report.requeued_calls} refused call(s).")
        print(
            f"Rendered {report.fixed_templates} template error(s) again: "
            f"{report.queued_calls} call(s) queued."
        )
        for item in report.still_failing:
            print(f"Still failing: {item.event_id} {item.template_key}: {item.reason}")
    return EXIT_USER_ERROR if report.still_failing else EXIT_OK


def _purge(args: argparse.Namespace) -> int:
    import math

    from segment_desktop.core.errors import ConfigError
    from segment_desktop.relay.outbox import Outbox
    from segment_desktop.relay.parked import purge
    from segment_desktop.relay.retention import DAY

    if not math.isfinite(args.older_than) or args.older_than < 0:
        raise ConfigError(f"--older-than must be a number of days, not {args.older_than:g}.")
    data_dir = _data_dir(args)
    outbox = Outbox.in_dir(data_dir)
    try:
        purged = purge(outbox, older_than_seconds=args.older_than * DAY, event_ids=args.event_ids)
        outbox.truncate_wal()
    finally:
        outbox.close()
    if args.json:
        print(json.dumps(asdict(purged), indent=2))
    else:
        print(
            f"Deleted {purged.refused_calls} refused call(s) and "
            f"{purged.template_errors} template error(s)."
        )
    return EXIT_OK


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
