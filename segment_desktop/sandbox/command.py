"""``segment-desktop sandbox``: run the Commerce and Segment emulators until Ctrl-C.

Imports nothing heavy at module level; Starlette and uvicorn load inside ``run``.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from types import FrameType
from typing import TextIO

from segment_desktop.core.errors import SegmentDesktopError


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a port number (0 to 65535)")
    return value


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--commerce-port",
        type=_port,
        default=0,
        metavar="N",
        help="port of the Commerce emulator on 127.0.0.1 (default: any free port)",
    )
    parser.add_argument(
        "--segment-port",
        type=_port,
        default=0,
        metavar="M",
        help="port of the Segment emulator on 127.0.0.1 (default: any free port)",
    )


def run(args: argparse.Namespace, *, out: TextIO | None = None) -> int:
    """Start the sandbox, print where it listens and its demo credentials, serve until stopped."""
    from segment_desktop.sandbox.runner import Sandbox

    out = out or sys.stdout
    try:
        sandbox = Sandbox.start(commerce_port=args.commerce_port, segment_port=args.segment_port)
    except SegmentDesktopError as err:
        print(f"segment-desktop sandbox: {err}", file=sys.stderr)
        return 1
    stop = threading.Event()

    def on_term(signum: int, frame: FrameType | None) -> None:
        stop.set()

    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, on_term) if in_main else None
    try:
        print(
            "Sandbox running (demo credentials, valid only here):\n"
            f"  Commerce API     {sandbox.commerce_url}\n"
            f"  client id        {sandbox.client_id}\n"
            f"  client secret    {sandbox.client_secret}\n"
            f"  Segment host     {sandbox.segment_url}\n"
            f"  write key        {sandbox.write_key}\n"
            f"Fire an event:  curl -X POST {sandbox.commerce_url}/sandbox/events "
            "-H 'Content-Type: application/json' -d '{\"event\": \"order.paid\"}'\n"
            "Press Ctrl-C to stop.",
            file=out,
            flush=True,
        )
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        if in_main:
            signal.signal(signal.SIGTERM, previous)
        sandbox.stop()
    print("Sandbox stopped.", file=out, flush=True)
    return 0
