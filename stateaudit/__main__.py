"""Entry point for `python -m stateaudit`."""

from .cli import main

main()
