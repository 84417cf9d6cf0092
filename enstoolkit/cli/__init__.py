"""The ``enstoolkit`` command. Each command is a module here that registers its own subcommand.

Usage, in a terminal::

    enstoolkit sandbox --port 8765     # the local sandbox, until Ctrl-C
    enstoolkit audit --sandbox         # both reports, against the sandbox
    enstoolkit --help                  # every command
"""

from .command import COMMANDS, build_parser, main

__all__ = ["COMMANDS", "build_parser", "main"]
