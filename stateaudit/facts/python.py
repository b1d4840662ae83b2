"""Facts about Python candidates: the extractor interface match.py calls."""

from .py_calls import call_facts, call_shape_facts
from .py_file import PyFile, analyse, container_of, instantiation_context
from .py_state import (
    decorator_facts,
    early_state_facts,
    file_index,
    global_facts,
    global_shape_facts,
    shape_facts,
    singleton_facts,
    state_facts,
    state_scope,
)
from .references import CLASS_FACTS_LATER, class_facts

# A global-kind rule's candidates: names a function rebinds through a `global` statement (global_facts).
GLOBALS_ARE = "global"

__all__ = ["CLASS_FACTS_LATER", "GLOBALS_ARE", "PyFile", "analyse", "call_facts", "call_shape_facts", "class_facts", "container_of", "decorator_facts", "early_state_facts", "file_index",
           "global_facts", "global_shape_facts", "instantiation_context", "shape_facts", "singleton_facts", "state_facts", "state_scope"]
