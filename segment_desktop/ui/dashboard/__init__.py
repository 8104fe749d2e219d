"""The main window's live dashboard: pipeline header, delivery chart, what needs me, and the
searchable delivery log.

Module map:

* ``dashboard``: :class:`Dashboard`, the tab: one snapshot a second, gathered off the GUI
  thread, feeds every part.
* ``snapshot``: what the dashboard shows, read in one go from the relay in this process (its
  metrics, journal and outbox) or from the outbox folder (no Qt).
* ``pipeline``: Commerce store → relay (or queue) → Segment source, a status light per hop.
* ``chart``: received, sent and failed per minute (last hour) or per hour (last day).
* ``needs_me``: refused calls and template errors, with Replay, Discard and Open in studio.
* ``actions``: what those buttons do, as ``relay replay`` and ``relay purge`` do it
  (blocking; run off the GUI thread).
* ``delivery_log``: recent deliveries, filtered and searched, with the webhook, the calls and
  Segment's answer.
* ``settings_diff``: what importing settings would change, named as the screens name it.
"""
