"""Locate the shipped rules/ and templates/ folders, installed or from a checkout."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def _data_dir(name: str) -> Path:
    """The wheel maps top-level folders into stateaudit/_data; a checkout has them beside the package."""
    installed = _PACKAGE / "_data" / name
    if installed.is_dir():
        return installed
    return _PACKAGE.parent / name


def rules_dir() -> Path:
    return _data_dir("rules")


def templates_dir() -> Path:
    return _data_dir("templates")


def shipped_fixtures_dir() -> Path | None:
    """`fixtures/rules` of a source checkout (the shipped rules' tests); None when installed from a wheel."""
    folder = _PACKAGE.parent / "fixtures" / "rules"
    return folder if not (_PACKAGE / "_data").is_dir() and folder.is_dir() else None
