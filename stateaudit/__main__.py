"""Entry point for `python -m stateaudit`."""

from .entry import main

main()
