"""The headless relay: Commerce webhooks → rendered Segment calls → durable outbox → Segment.

No Qt anywhere in here. Pieces, each in its own module:

``app``         the ASGI receiver (``/webhooks/commerce``, ``/healthz``, ``/metrics``); knows
                the relay only through its ``RelayService`` Protocol
``http_guard``  size and time limits on a request's head, in uvicorn's protocol
``webhook_cycle`` an ordinary webhook delivery answered by that protocol, past ASGI
``refusals``    refused deliveries logged as a count per interval
``intake``      parse, de-duplicate, render, store (grouped commits)
``rendering``   the preview's renderer over every template configured for an event
``breaker``     suspends a template that keeps timing out
``render_threads`` parsing and rendering on threads, each record queued for the commit there
``render_pool`` parsing and rendering in worker processes (``--render-processes``)
``records``     what the outbox stores and gives back (plain records)
``outbox``      the SQLite outbox: connection, de-duplication, queue operations
``parked``      refused calls and template errors: read, re-queue, resolve, purge
``retention``   how long the outbox keeps what, and the hourly housekeeping
``datadir``     the data folder: private permissions, a clear error when unusable
``sender``      the thread that drains the outbox to Segment in batches
``health``      problems the parts report for ``/healthz``
``metrics``     counters, latency histograms and outbox gauges (prometheus-client), the
                last day's activity per minute for the dashboard
``journal``     the recent deliveries in memory, kept only while the dashboard asks
``runtime``     the above wired together (no HTTP); ``server`` runs it under uvicorn, in a
                thread or the foreground
``watcher``     picks up saved template changes while the relay runs
``settings``    the relay's settings: saved config, environment, flags
``status``      reading a relay's state (``relay status``, ``relay parked``, the desktop app)
``replay``      re-renders template errors and re-queues refused calls
``heap``        keeps start-up objects out of the garbage collector's full passes
``command``     ``segment-desktop relay [serve|status|parked|replay|purge]``
``sqs``         a worker on an Amazon SQS queue (receive, render, send, delete);
                ``sqs_queue`` the queue through boto3, ``sqs_command`` ``relay --sqs-queue-url``
"""
