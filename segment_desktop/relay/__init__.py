"""The headless relay: Commerce webhooks → rendered Segment calls → durable outbox → Segment.

No Qt anywhere in here. Pieces, each in its own module:

``app``        the ASGI receiver (``/webhooks/commerce``, ``/healthz``, ``/metrics``)
``intake``     parse, de-duplicate, render, store (grouped commits)
``rendering``  the preview's renderer over every template configured for an event
``render_pool`` parsing and rendering in worker processes (``--render-processes``)
``outbox``     the SQLite outbox (de-duplication records, queued and parked calls)
``sender``     the thread that drains the outbox to Segment in batches
``runtime``    the above wired together; ``server`` runs it in a thread or the foreground
``status``     read-only views for the GUI; ``replay`` re-renders and re-queues parked work
``command``    ``segment-desktop relay [serve|status|parked|replay]``
``sqs``        a worker on an Amazon SQS queue (receive, render, send, delete);
               ``sqs_queue`` the queue through boto3, ``sqs_command`` ``relay --sqs-queue-url``
"""
