"""Facts about TypeScript/JavaScript candidates: the extractor interface match.py calls."""

from .references import CLASS_FACTS_LATER, class_facts
from .ts_calls import call_facts, call_shape_facts, decorator_facts
from .ts_file import TsFile, analyse, instantiation_context
from .ts_state import (
    early_state_facts,
    file_index,
    shape_facts,
    singleton_facts,
    state_facts,
    state_scope,
)
from .ts_syntax import container_of, is_frozen

# A global-kind rule's candidates: module variables, extracted like any other state (no `global` statement).
GLOBALS_ARE = "state"

__all__ = ["CLASS_FACTS_LATER", "GLOBALS_ARE", "TsFile", "analyse", "call_facts", "call_shape_facts", "class_facts", "container_of", "decorator_facts", "early_state_facts", "file_index",
           "instantiation_context", "is_frozen", "shape_facts", "singleton_facts", "state_facts", "state_scope"]
