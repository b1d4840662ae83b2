"""stateaudit: find in-process state that blocks horizontal scaling."""

__version__ = "0.1.0"
