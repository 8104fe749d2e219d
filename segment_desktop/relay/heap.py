"""Keeping the garbage collector's full passes out of webhook answers.

A full (generation 2) collection walks every object the process holds, and whatever thread
triggers it, the GIL is held until it ends. After start-up a relay holds tens of thousands of
objects that live as long as it does (modules, compiled templates, the template engine), so
the occasional full pass is long enough to set the webhook's slowest answers.
``gc.freeze()`` moves what exists at that moment into a permanent generation that collections
skip (figures in bench/README.md). Cycles made later are still collected as before; what
start-up made and later drops is still freed by reference counting, only a cycle among frozen
objects would stay (a compiled template replaced by an update forms none).
"""

from __future__ import annotations

import gc


def freeze_startup_heap() -> int:
    """Collect once, then exempt every surviving object from later collections.

    Call when start-up is over (imports done, templates compiled), before serving. Returns how
    many objects were frozen.
    """
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
