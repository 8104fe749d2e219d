"""``segment-desktop relay --sqs-queue-url URL``: a relay worker on an Amazon SQS queue.

The queue comes from ``--sqs-queue-url``, else ``SEGMENT_DESKTOP_SQS_QUEUE_URL``, else the
saved delivery choice when it is ``aws_sqs``. The region from ``--sqs-region`` (else the
setting, else the queue URL's own, else AWS's usual ``AWS_DEFAULT_REGION``);
``--sqs-endpoint-url`` points at another SQS-compatible server (a local one for tests).
Credentials: the saved access key id with its secret access key from the keyring (or
``AWS_SECRET_ACCESS_KEY``), else boto3's standard chain. The Segment write key comes from
``SEGMENT_WRITE_KEY`` or the keyring; a worker needs no webhook secret (nothing reaches it
over HTTP but ``/healthz`` and ``/metrics``, served on ``--listen``).

Wrong credentials, a queue that does not exist or a missing secret stop it at once with a
message saying what to fix (exit 2). SIGTERM or Ctrl-C lets it finish the messages in hand;
whatever it has not deleted comes back to the queue for another worker. Only light modules are
imported here at import time.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from http.server import ThreadingHTTPServer

    from segment_desktop.core.config import Config
    from segment_desktop.relay.metrics import Metrics
    from segment_desktop.relay.sqs import Worker
    from segment_desktop.relay.sqs_queue import Queue, QueueSettings

log = logging.getLogger("segment_desktop.relay")

QUEUE_URL_ENV = "SEGMENT_DESKTOP_SQS_QUEUE_URL"
#: The long poll's wait (seconds, at most 20): how long a stop may wait for a receive.
WAIT_ENV = "SEGMENT_DESKTOP_SQS_WAIT_SECONDS"
#: Workers per process. Each spends most of its time waiting for SQS and Segment to answer
#: (three round trips per 10 messages), so a few share one process's CPU well.
THREADS_ENV = "SEGMENT_DESKTOP_SQS_THREADS"
DEFAULT_THREADS = 4
#: How often a worker reads the queue's approximate depth.
DEPTH_EVERY_SECONDS = 10.0
#: What a worker writes for ``relay status`` on this machine.
STATUS_FILE = "sqs-worker-{pid}.json"
STATUS_FRESH_SECONDS = 60.0


def add_arguments(parser: argparse.ArgumentParser, default: Any) -> None:
    """The worker's flags, on ``relay`` and ``relay serve`` (and ``relay status``)."""
    parser.add_argument(
        "--sqs-queue-url", default=default, metavar="URL",
        help="consume Commerce's events from this Amazon SQS queue instead of receiving "
        f"webhooks (default: ${QUEUE_URL_ENV}, else the saved delivery when it is aws_sqs)",
    )  # fmt: skip
    parser.add_argument(
        "--sqs-region", default=default, metavar="REGION",
        help="the queue's AWS region (default: the saved one, else the queue URL's)",
    )  # fmt: skip
    parser.add_argument(
        "--sqs-threads", type=int, default=default, metavar="N",
        help=f"workers in this process, each receiving, sending and deleting in turn "
        f"(default: ${THREADS_ENV}, else {DEFAULT_THREADS})",
    )  # fmt: skip
    parser.add_argument(
        "--sqs-endpoint-url", default=default, metavar="URL",
        help="another SQS-compatible endpoint (for tests; default: AWS's)",
    )  # fmt: skip


def _threads(args: argparse.Namespace) -> int:
    from segment_desktop.core.errors import ConfigError

    given = getattr(args, "sqs_threads", None)
    text = os.environ.get(THREADS_ENV, "").strip()
    try:
        threads = given if given is not None else int(text) if text else DEFAULT_THREADS
    except ValueError:
        raise ConfigError(f"{THREADS_ENV} must be a whole number, not {text!r}.") from None
    if not 1 <= threads <= 64:
        raise ConfigError(f"--sqs-threads must be between 1 and 64, not {threads}.")
    return threads


def queue_settings(args: argparse.Namespace, config: Config) -> QueueSettings | None:
    """The queue to consume, or None when this relay receives webhooks."""
    from segment_desktop.relay.sqs_queue import QueueSettings

    delivery = config.delivery
    saved = delivery.sqs_queue_url if delivery.kind == "aws_sqs" else ""
    url = (getattr(args, "sqs_queue_url", None) or os.environ.get(QUEUE_URL_ENV, "")).strip()
    url = url or saved
    if not url:
        return None
    return QueueSettings(
        url=url,
        region=getattr(args, "sqs_region", None) or delivery.sqs_region,
        endpoint_url=getattr(args, "sqs_endpoint_url", None) or "",
        access_key_id=delivery.sqs_access_key_id,
    )


def open_queue(settings: QueueSettings) -> Queue:
    """The queue with the configured credentials (not yet checked)."""
    from segment_desktop.core.errors import SecretStoreError
    from segment_desktop.core.secrets import SQS_SECRET_ACCESS_KEY, SecretStore
    from segment_desktop.relay.sqs_queue import Queue, make_client

    secret: str | None = None
    if settings.access_key_id:
        try:
            secret = SecretStore().get(SQS_SECRET_ACCESS_KEY)
        except SecretStoreError as err:
            log.info("No AWS secret access key from the keyring (%s); using AWS's chain", err)
    return Queue(make_client(settings, secret), settings)


def serve(args: argparse.Namespace, config: Config, settings: QueueSettings) -> int:
    """Run a worker until SIGTERM / SIGINT. Raises our errors for the command to report."""
    import signal

    from segment_desktop.core.engine import engine_name
    from segment_desktop.core.errors import ConfigError
    from segment_desktop.core.secrets import SEGMENT_WRITE_KEY
    from segment_desktop.relay.command import (
        _forget_secret_variables,
        _secret,
        _settings,
        _store,
    )
    from segment_desktop.relay.health import HealthReports
    from segment_desktop.relay.metrics import Metrics
    from segment_desktop.relay.outbox import Outbox
    from segment_desktop.relay.rendering import EventRenderer, TemplateConfig
    from segment_desktop.relay.runtime import CLIENT_ATTEMPTS
    from segment_desktop.relay.sender import Sender
    from segment_desktop.relay.server import bind
    from segment_desktop.relay.sqs import Worker, WorkerStats
    from segment_desktop.relay.watcher import SettingsWatcher
    from segment_desktop.segment import SegmentClient

    try:
        engine = engine_name()
    except ValueError as err:
        raise ConfigError(str(err)) from None
    relay_settings = _settings(args, config, engine)
    write_key = _secret(SEGMENT_WRITE_KEY)
    queue = open_queue(settings)
    info = queue.check()  # wrong credentials, no such queue: ConfigError, exit 2
    _forget_secret_variables()
    sock = bind(relay_settings.host, relay_settings.port)

    metrics = Metrics()
    data_dir = relay_settings.data_dir
    outbox = Outbox.in_dir(data_dir, checkpoint=False)
    sender_outbox = Outbox.in_dir(data_dir, synchronous="NORMAL")
    sender = Sender(sender_outbox, None, metrics)
    segment = (relay_settings.segment_host, relay_settings.segment_path, write_key)
    sender.client = SegmentClient(*segment, max_attempts=CLIENT_ATTEMPTS, sleep=sender.sleep)
    client = SegmentClient(*segment, max_attempts=CLIENT_ATTEMPTS + 1)
    renderer = EventRenderer(TemplateConfig.from_config(config))
    renderer.warm_up()
    wait = int(os.environ.get(WAIT_ENV, "20") or 20)
    threads = _threads(args)
    stats = WorkerStats()
    workers = [
        Worker(
            queue,
            info,
            renderer,
            client,
            outbox,
            metrics,
            integration_ids=frozenset(config.integration_ids.values()),
            wait_seconds=wait,
            on_handed_over=sender.wake,
            stats=stats,
        )
        for _ in range(threads)
    ]
    worker = workers[0]
    httpd = _metrics_server(sock, worker, metrics, outbox)
    depth = _DepthWatcher(worker, data_dir)

    # Template fixes and tracking changes saved by the app apply without a restart, as in
    # the webhook relay.
    def apply(saved: Config) -> None:
        renderer.update(TemplateConfig.from_config(saved))

    watcher = SettingsWatcher(_store(args), apply, HealthReports())

    def stop(sig: int, frame: object) -> None:
        for each in workers:
            each.stop()

    others = [
        threading.Thread(target=each.run, name=f"sqs-worker-{n}", daemon=True)
        for n, each in enumerate(workers[1:], start=1)
    ]

    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        sender.start()
        depth.start()
        watcher.start()
        threading.Thread(target=httpd.serve_forever, name="sqs-metrics", daemon=True).start()
        where = f"{sock.getsockname()[0]}:{sock.getsockname()[1]}"
        dlq = f"dead-letter queue after {info.max_receives} receives" if info.max_receives else (
            "no dead-letter queue"
        )  # fmt: skip
        print(f"Relay worker consuming {settings.url} ({dlq}); metrics on http://{where}/metrics",
              flush=True)  # fmt: skip
        log.info("Relay worker on %s (%d thread(s)), sending to %s", settings.url, threads,
                 relay_settings.segment_host)  # fmt: skip
        for thread in others:
            thread.start()
        worker.run()
    finally:
        for each in workers:
            each.stop()
        for thread in others:
            if thread.is_alive():
                thread.join()
        watcher.stop()
        depth.stop()
        httpd.shutdown()
        sock.close()
        sender.stop(relay_settings.flush_seconds)
        client.close()
        outbox.close()
        sender_outbox.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    log.info("Relay worker stopped")
    return 0


# -- /metrics, /healthz and the status file ---------------------------------------------------


def gauges(worker: Worker) -> dict[str, tuple[str, float]]:
    """The queue's gauges, as ``/metrics`` shows them."""
    stats = worker.stats
    values: dict[str, tuple[str, float]] = {
        "sqs_oldest_message_age_seconds": (
            "Age of the oldest message in this worker's last receive (0 after an empty one).",
            round(stats.oldest_age, 3),
        ),
    }
    if stats.visible is not None:
        values["sqs_messages_visible"] = (
            "Messages waiting on the queue (SQS's ApproximateNumberOfMessages).",
            stats.visible,
        )
        values["sqs_messages_in_flight"] = (
            "Messages received and not yet deleted (ApproximateNumberOfMessagesNotVisible).",
            stats.in_flight or 0,
        )
    return values


def metrics_text(worker: Worker, metrics: Metrics, outbox: Any) -> str:
    lines = [metrics.render(outbox.stats()).rstrip("\n")]
    for name, (help_text, value) in gauges(worker).items():
        metric = f"segment_desktop_relay_{name}"
        lines += [f"# HELP {metric} {help_text}", f"# TYPE {metric} gauge", f"{metric} {value}"]
    return "\n".join(lines) + "\n"


def _metrics_server(
    sock: Any, worker: Worker, metrics: Metrics, outbox: Any
) -> ThreadingHTTPServer:
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/metrics":
                body = metrics_text(worker, metrics, outbox).encode()
                kind = "text/plain; version=0.0.4; charset=utf-8"
            elif self.path == "/healthz":
                ok = not worker.stopping
                body = json.dumps(
                    {"status": "ok" if ok else "stopping", "queue": worker.queue.url}
                ).encode()
                kind = "application/json"
            else:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(sock.getsockname()[:2], Handler, bind_and_activate=False)
    server.socket.close()
    server.socket = sock
    server.server_activate()
    server.daemon_threads = True
    return server


class _DepthWatcher:
    """Reads the queue's depth now and then, and writes the worker's status file."""

    def __init__(self, worker: Worker, data_dir: Path) -> None:
        self._worker = worker
        self._path = Path(data_dir) / STATUS_FILE.format(pid=os.getpid())
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sqs-depth", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._path.unlink(missing_ok=True)

    def _run(self) -> None:
        from segment_desktop.core.config_file import atomic_write
        from segment_desktop.relay.sqs_queue import QueueUnavailable

        while not self._stop.is_set():
            try:
                self._worker.refresh_depth()
            except QueueUnavailable as err:
                log.warning("Could not read the queue's depth: %s", err)
            stats = self._worker.stats
            status = {
                "queue": self._worker.queue.url,
                "pid": os.getpid(),
                "at": time.time(),
                "visible": stats.visible,
                "in_flight": stats.in_flight,
                "oldest_age": stats.oldest_age,
                "last_receive_at": stats.last_receive_at,
            }
            try:
                atomic_write(self._path, json.dumps(status).encode())
            except OSError as err:
                log.warning("Could not write the worker's status file %s: %s", self._path, err)
            self._stop.wait(DEPTH_EVERY_SECONDS)


def local_workers(data_dir: Path, now: float | None = None) -> list[dict[str, Any]]:
    """What the workers running on this machine with ``data_dir`` last wrote (fresh ones)."""
    now = time.time() if now is None else now
    found = []
    for path in sorted(Path(data_dir).glob(STATUS_FILE.format(pid="*"))):
        try:
            status = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(status, dict) and now - float(status.get("at", 0)) < STATUS_FRESH_SECONDS:
            found.append(status)
    return found


def queue_status(args: argparse.Namespace, config: Config, data_dir: Path) -> dict[str, Any] | None:
    """For ``relay status``: the queue's depth now, and what local workers last saw."""
    from segment_desktop.core.errors import SegmentDesktopError
    from segment_desktop.relay.sqs_queue import QueueUnavailable

    settings = queue_settings(args, config)
    if settings is None:
        return None
    status: dict[str, Any] = {"queue": settings.url}
    try:
        depth = open_queue(settings).depth()
    except (QueueUnavailable, SegmentDesktopError) as err:
        status["error"] = str(err)
    else:
        status.update(visible=depth.visible, in_flight=depth.in_flight, delayed=depth.delayed)
    workers = local_workers(data_dir)
    status["local_workers"] = len(workers)
    if workers:
        status["oldest_age"] = max(float(w.get("oldest_age") or 0) for w in workers)
    return status


def print_queue_status(status: dict[str, Any]) -> None:
    """``relay status``'s lines about the queue."""
    print(f"Queue:             {status['queue']}")
    if "error" in status:
        print(f"Queue unreadable:  {status['error']}")
    else:
        print(f"Messages waiting:  {status['visible']} (approximate; {status['in_flight']} being "
              f"handled, {status['delayed']} delayed)")  # fmt: skip
    workers = status.get("local_workers", 0)
    if workers:
        print(f"Oldest received:   {status['oldest_age']:.0f} s old (the oldest message the "
              f"{workers} worker(s) here last received)")  # fmt: skip
    else:
        print("Oldest received:   no worker runs here with this data directory")
