"""Bounds on a request's head, before the relay's app sees it.

uvicorn's httptools protocol reads a request line and headers of any size, for as long as the
client takes: a few unfinished multi-megabyte headers hold hundreds of megabytes, and a client
trickling bytes holds a connection for ever, all before the webhook secret is checked.
:class:`GuardedHttpToolsProtocol` answers 431 as soon as a head passes its size limit, and 408
when a head has not arrived in time after the connection opened or its first byte came
(closing the connection either way). The defaults are in :mod:`segment_desktop.relay.app`;
a proxy in front should hold the same or tighter limits. A Commerce delivery's head is well
under a kilobyte and arrives at once.

The protocol also sends each answer's head (status line and headers) and body in one write:
uvicorn writes them apart, which costs a second system call and a second TCP segment per
answer, a large share of the relay's per-delivery work on the event loop.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

from segment_desktop.relay.app import (
    BODY_RECEIVED,
    HEAD_SECONDS,
    MAX_HEAD_BYTES,
    WEBHOOK_PATH,
    WebhookApp,
)
from segment_desktop.relay.webhook_cycle import WebhookCycle

_WEBHOOK_TARGET = WEBHOOK_PATH.encode("ascii")


def _answer(status: bytes, text: bytes) -> bytes:
    return (
        b"HTTP/1.1 " + status + b"\r\ncontent-type: text/plain; charset=utf-8\r\n"
        b"content-length: " + str(len(text)).encode("ascii") + b"\r\n"
        b"connection: close\r\n\r\n" + text
    )


def guarded_protocol(
    max_head_bytes: int = MAX_HEAD_BYTES,
    head_seconds: float = HEAD_SECONDS,
    webhooks: WebhookApp | None = None,
) -> type[HttpToolsProtocol]:
    """The protocol class to give uvicorn (``http=``), with these limits; with ``webhooks``
    (the app uvicorn serves) it handles plain webhook deliveries itself
    (:mod:`.webhook_cycle`)."""
    too_large = _answer(
        b"431 Request Header Fields Too Large",
        f"The request line and headers exceed {max_head_bytes:,} bytes.".encode(),
    )
    too_slow = _answer(
        b"408 Request Timeout",
        f"The request line and headers did not arrive within {head_seconds:g} s.".encode(),
    )
    return type(
        "GuardedHttpToolsProtocol",
        (GuardedHttpToolsProtocol,),
        {
            "max_head_bytes": max_head_bytes,
            "head_seconds": head_seconds,
            "too_large": too_large,
            "too_slow": too_slow,
            "webhooks": webhooks,
        },
    )


class _JoinedWrites:
    """A connection's transport as uvicorn sees it: an answer's head is held until its body
    comes, and both leave in one write.

    The first write after an answer has started is its head (uvicorn writes a ``100 Continue``
    before that, and the body after); the next write, or closing, sends what is held. Every
    other call goes to the real transport.
    """

    __slots__ = ("_head_of", "_held", "_protocol", "_transport")

    def __init__(self, transport: asyncio.Transport, protocol: GuardedHttpToolsProtocol) -> None:
        self._transport = transport
        self._protocol = protocol
        self._held: bytes | None = None
        self._head_of: object = None
        """The request cycle whose head was held last (its later writes are body)."""

    def write(self, data: bytes) -> None:
        held = self._held
        if held is not None:
            self._held = None
            self._transport.write(held + data)
            return
        cycle = self._protocol.cycle
        if (
            cycle is not None
            and cycle.response_started
            and not cycle.response_complete
            and cycle is not self._head_of
        ):
            self._head_of = cycle
            self._held = data
            return
        self._transport.write(data)

    def flush(self) -> None:
        held = self._held
        if held is not None:
            self._held = None
            self._transport.write(held)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a size and a time limit on each request's head
    (made with :func:`guarded_protocol`)."""

    max_head_bytes = MAX_HEAD_BYTES
    head_seconds = HEAD_SECONDS
    too_large = b""
    too_slow = b""
    webhooks: WebhookApp | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_head = True
        self._head_bytes = 0
        self._head_began: float | None = None
        """When the head being read now began (the loop's clock); None between requests."""
        self._head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._raw = transport
        self._joined = _JoinedWrites(transport, self)
        super().connection_made(cast(asyncio.Transport, self._joined))
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._in_head:
            self._head_bytes += len(data)
        super().data_received(data)
        if self._in_head and self._head_began is not None and self._head_timer is None:
            # A head is unfinished after this chunk: it is timed from its first byte. Heads
            # that arrive whole, nearly all of them, never cost a timer.
            left = self.head_seconds - (self.loop.time() - self._head_began)
            self._arm(max(0.0, left))
        cycle: object = self.cycle  # uvicorn's, or a delivery of ours
        if type(cycle) is WebhookCycle and cycle.waiting_for_body:
            cycle.expect_body()  # the head came without the whole body: time the rest
        # Still in the head after this chunk (which may carry the start of the body too):
        # the parser holds what it has of the head, at most one chunk more than the cap.
        if self._in_head and self._head_bytes > self.max_head_bytes:
            self._refuse(self.too_large)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_began = self.loop.time()
        # An answer given while a chunk was parsed (a delivery refused on its head) armed the
        # idle timeout; a request that follows in the same chunk must not run under it.
        self._unset_keepalive_if_required()

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._head_bytes = 0
        self._head_began = None
        self._disarm()
        webhooks = self.webhooks
        if webhooks is not None and self._plain_delivery():
            self.cycle = WebhookCycle(self, webhooks, self.headers)  # type: ignore[assignment]
            return
        super().on_headers_complete()

    def _plain_delivery(self) -> bool:
        """A webhook delivery the protocol answers itself; anything unusual about it goes
        through ASGI (the app applies the same rules there)."""
        parser = self.parser
        cycle = self.cycle
        return (
            self.url == _WEBHOOK_TARGET
            and parser.get_method() == b"POST"
            and parser.get_http_version() == "1.1"
            and parser.should_keep_alive()
            and not self.expect_100_continue
            and not parser.should_upgrade()
            and (cycle is None or cycle.response_complete)  # not pipelined behind an answer
            and not self.flow.write_paused  # a client not reading its answers: ASGI waits
        )

    def on_response_complete(self) -> None:
        self._joined.flush()  # uvicorn ends every answer with a body write: nothing is held
        super().on_response_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        if isinstance(self.cycle, RequestResponseCycle):
            self.cycle.scope[BODY_RECEIVED] = True  # type: ignore[literal-required]
        # The next request on this connection starts with a head of its own; its time starts
        # with its first byte (the keep-alive timeout covers the quiet time before).
        self._in_head = True

    def _arm(self, seconds: float | None = None) -> None:
        self._disarm()
        delay = self.head_seconds if seconds is None else seconds
        self._head_timer = self.loop.call_later(delay, self._head_timeout)

    def _disarm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timeout(self) -> None:
        self._head_timer = None
        busy = self.cycle is not None and not self.cycle.response_complete
        if self._in_head and busy:
            self._arm()  # a pipelined head: its time counts once the answer before it is out
        elif self._in_head:
            self._refuse(self.too_slow)

    def _refuse(self, answer: bytes) -> None:
        self._disarm()
        self._in_head = False
        if not self._raw.is_closing():
            self._joined.flush()
            self._raw.write(answer)
            self._raw.close()
