"""``segment-desktop``: the GUI without a subcommand, a command-line tool with one.

Each subcommand lives in its own module exposing ``configure(parser)`` and ``run(args) -> int``;
they are imported only when needed so ``--help`` and ``--version`` stay fast and Qt-free, and
:func:`main` imports none of them when no subcommand is named (starting the GUI should not pay
for the relay's or the sandbox's imports): see :func:`commands_needed`. With no arguments at
all, as a desktop launcher starts it, :func:`main` starts the GUI without building a parser.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING

from segment_desktop import __version__

if TYPE_CHECKING:
    import argparse

#: subcommand → (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "render": ("segment_desktop.render_command", "render a Commerce event through a template"),
    "sandbox": ("segment_desktop.sandbox.command", "run the Commerce and Segment emulators"),
    "register": ("segment_desktop.register_command", "register the integrations with Commerce"),
    "relay": ("segment_desktop.relay.command", "receive Commerce webhooks and deliver to Segment"),
    "test-templates": (
        "segment_desktop.test_templates_command",
        "run the saved template test cases (for CI)",
    ),
    "trigger": ("segment_desktop.trigger_command", "send a Commerce webhook to a relay"),
}
HELP_FLAGS = frozenset({"-h", "--help"})


def commands_needed(argv: Sequence[str]) -> set[str] | None:
    """The subcommands whose modules parsing ``argv`` needs; ``None`` for all of them.

    A command named anywhere in ``argv`` is loaded (an option value that happens to equal a
    command name only costs an import); ``--help`` without a command lists every command, so
    it loads them all.
    """
    named = {arg for arg in argv if arg in COMMANDS}
    if not named and HELP_FLAGS.intersection(argv):
        return None
    return named


def build_parser(only: Collection[str] | None = None) -> argparse.ArgumentParser:
    """The full parser; with ``only``, the other subcommands are listed but not imported (they
    cannot be chosen by arguments that do not name them, see :func:`commands_needed`)."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="segment-desktop",
        description="Connect an Elastic Path Commerce store to Segment. "
        "Without a command, starts the desktop application.",
    )
    parser.add_argument("--version", action="version", version=f"segment-desktop {__version__}")
    parser.add_argument(
        "--sandbox",
        action="store_true",
        help="start the application wired to built-in emulators of Commerce and Segment",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        if only is not None and name not in only:
            sub.add_parser(name, help=help_text, description=help_text)
            continue
        module = importlib.import_module(module_name)
        command = sub.add_parser(name, help=help_text, description=help_text)
        module.configure(command)
        command.set_defaults(run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else list(argv)
    if not arguments:
        return gui(sandbox=False)
    args = build_parser(commands_needed(arguments)).parse_args(arguments)
    if getattr(args, "run", None) is not None:
        code: int = args.run(args)
        return code
    return gui(sandbox=args.sandbox)


def gui(*, sandbox: bool) -> int:
    """Start the desktop application (``ui.app.run``)."""
    import gc

    # No collections while the modules load, and what they made is then exempt from later
    # ones (``gc.freeze``): it lives as long as the process, and collection passes would
    # only walk it again and again, before the first window and after.
    gc.disable()
    try:
        # The Qt-free modules first: once PySide6 is loaded it reads the source of every
        # module imported after it (looking for ``from __feature__ import``), which the
        # first window would wait for.
        import segment_desktop.services  # noqa: F401
        from segment_desktop.ui.app import run
    finally:
        gc.freeze()
        gc.enable()
    return run(sandbox=sandbox)
