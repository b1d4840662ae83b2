"""Stage 4b: compute the facts about a candidate that classification rules reason over.

Python computes facts (scope, write sites, lifetime evidence, neighbouring clients);
the YAML rules decide what they mean.
"""

from __future__ import annotations

from . import python as python_facts
from . import typescript as typescript_facts
from .index import ClassInfo, FileIndex, ServiceIndex

__all__ = ["ClassInfo", "FileIndex", "ServiceIndex", "facts_module"]


def facts_module(language: str):
    """The fact extractor for a grammar family."""
    return python_facts if language == "python" else typescript_facts
