"""Application services: what the desktop app asks of the clients and the relay, without Qt.

They sit between the clients and relay layer and the ``ui``: every blocking call here is meant
to run off the GUI thread (``ui/tasks.py``), and none of them touches a widget, so each is
testable anywhere. Nothing here imports httpx, a keyring backend or the relay at import time:
the methods import what they use, so the first window does not wait for them.

Module map:

* ``stores``: the settings and secret stores, and sandbox mode's separate ones.
* ``connections``: signing in to Commerce, checking Segment, sending the test event.
* ``integrations``: our integrations at Commerce, their delivery logs, enable and delete.
* ``queue``: checking the SQS queue Commerce is to deliver to.
* ``setup``: the registration plan Finish shows and the registration it performs.
* ``local_relay``: the relay and the emulators this process runs in sandbox mode.
* ``container``: :class:`Services`, which wires the above once and is handed to windows.
"""

from segment_desktop.services.connections import CommerceConnection, SegmentCheck
from segment_desktop.services.container import Services
from segment_desktop.services.local_relay import RelayStatus
from segment_desktop.services.setup import PlanSummary
from segment_desktop.services.stores import MemorySecrets, SecretsLike

__all__ = [
    "CommerceConnection",
    "MemorySecrets",
    "PlanSummary",
    "RelayStatus",
    "SecretsLike",
    "SegmentCheck",
    "Services",
]
