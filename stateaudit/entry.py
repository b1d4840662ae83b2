"""The command's entry point: the command line's modules loaded with cycle collection paused, then frozen.

Importing the command line makes tens of thousands of objects (modules, classes, the dataclasses' generated
methods), none of them garbage; the cycle collector ran about 40 times meanwhile, each time walking the
young ones again (8 ms of a 0.3 s rescan of an unchanged tree). Once loaded they are frozen (`gc.freeze`):
later collections no longer walk them, and a forked pool worker shares their pages instead of copying
them, as Python's documentation advises for a process that forks.
"""

from __future__ import annotations

import gc


def main() -> None:
    """`stateaudit ...` and `python -m stateaudit ...`."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        from .cli import main as command_line
    finally:
        if collecting:
            gc.freeze()
            gc.enable()
    command_line()
