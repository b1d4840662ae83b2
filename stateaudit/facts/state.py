"""The one state-facts mechanism both languages share: a named value's scope, the keys of the events table
that name it, its writes after start-up, and the facts every state candidate has, computed once here.

A state candidate (a module variable, a class field or attribute, `this.x =`/`self.x =` in a constructor,
`app.state.x`, a local a long-lived closure keeps) goes through the same steps in either language:

    shape (container...) -> scope and name -> owner class -> keys -> writes -> shared facts -> language's extras

`StateLanguage` is that skeleton; `TsState` (ts_state.py) and `PyState` (py_state.py) are the per-language
answers: how a declaration says its scope, which event keys a scope is written through, the owner's lifetime,
and the facts only one language has (TypeScript's lazy holders and `const`; Python's start-up and handler
context, singletons and caches). `StateShapes` is the per-language data. What the shared facts are:

- `scope`, `name`, `class_name` (the owner class, in the scopes `StateShapes.class_scopes` names) and the
  shape facts: the early facts, read off the candidate's own nodes;
- `words`, `class_words` (the owner class's words in any scope but `module`) and `symbol`;
- `writes`, `written_after_init`, `rebound`, `stored`, `increments`: from the writes after start-up, which are
  the writes of the candidate's keys (`FileAnalysis.writes`), or for a closure's local the writes of the
  closures that keep it (`FileAnalysis.closure_writes`); a function's local has none;
- `client_refs` and `clients`: the clients beside the state (`FileAnalysis.clients_beside` of its keys).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..model import WriteSite
from ..syntax import SyntaxNode, enclosing
from .common import split_words, write_tags
from .references import FileAnalysis


@dataclass(frozen=True)
class StateShapes:
    """The per-language data of the one state-facts mechanism."""

    class_types: frozenset[str]  # the node types of a class: the owner of a candidate inside one
    # The scopes whose candidates are named after their class (`class_name`, `symbol` `Cls.name`): every scope
    # but `module` in TypeScript (a constructor's or method's `this.x`, a method's local); Python's class
    # attributes and instance fields only (a method's local or `app.x` there is named by itself).
    class_scopes: frozenset[str]


@dataclass(frozen=True)
class Candidate:
    """One state candidate as the mechanism has worked it out, for the language's keys and extra facts."""

    target: SyntaxNode
    name_node: SyntaxNode | None
    value: SyntaxNode | None
    scope: str
    name: str
    owner: SyntaxNode | None  # the class the candidate sits in
    owner_name: str | None
    fn: SyntaxNode | None  # the function the candidate sits in


class StateLanguage:
    """The skeleton of a state candidate's facts; a subclass gives the language's answers (the hooks below)."""

    shapes: StateShapes

    # -- the hooks: what differs between the languages ---------------------------------------------------

    def shape_facts(self, analysis: FileAnalysis, target: SyntaxNode, name_node: SyntaxNode | None,
                    value: SyntaxNode | None) -> dict[str, Any]:
        """What the candidate's own declaration says, whatever its scope (the container it holds...): the
        cheapest facts, asked before the scope, so most candidates (a local holding a string) stop here."""
        raise NotImplementedError

    def scope_and_name(self, analysis: FileAnalysis, target: SyntaxNode, name_node: SyntaxNode | None,
                       value: SyntaxNode | None) -> tuple[str, str]:
        """Where the named value lives (module, class, static, instance, export, app-state, closure or
        function), and its name."""
        raise NotImplementedError

    def keys(self, analysis: FileAnalysis, candidate: Candidate) -> list[tuple]:
        """The events-table keys through which code reads and writes the candidate (`("name", x)`,
        `("this", class id, x)`...); empty when no key names it (a function's local)."""
        raise NotImplementedError

    def owner_facts(self, analysis: FileAnalysis, candidate: Candidate) -> dict[str, Any]:
        """`owner_kind` and `lifetime_local`: who owns the state and how long it lives, as far as the file says."""
        raise NotImplementedError

    def extra_facts(self, analysis: FileAnalysis, candidate: Candidate, keys: list[tuple],
                    writes: list[WriteSite], facts: dict[str, Any]) -> dict[str, Any]:
        """The facts only this language has (`facts`: the shared ones, which these may refine)."""
        raise NotImplementedError

    # -- the mechanism --------------------------------------------------------------------------------------

    def state_scope(self, analysis: FileAnalysis, target: SyntaxNode, name_node: SyntaxNode | None,
                    value: SyntaxNode | None) -> str:
        """The candidate's scope: the first fact asked after its shape, and cheap, so candidates whose rule
        wants another scope stop here."""
        return self._scope_and_name(analysis, target, name_node, value)[0]

    def _scope_and_name(self, analysis: FileAnalysis, target: SyntaxNode, name_node: SyntaxNode | None,
                        value: SyntaxNode | None) -> tuple[str, str]:
        """scope_and_name, worked out once per candidate however many rules and steps ask."""
        known = analysis.__dict__.setdefault("_scopes", {})
        if target.id not in known:
            known[target.id] = self.scope_and_name(analysis, target, name_node, value)
        return known[target.id]

    def early_state_facts(self, analysis: FileAnalysis, target: SyntaxNode, name_node: SyntaxNode | None,
                          value: SyntaxNode | None, scope: str, shape: dict[str, Any] | None = None) -> dict[str, Any]:
        """The facts of a state candidate read off its own nodes, before any use of it is looked up (`shape`:
        what shape_facts gave). state_facts keeps them."""
        scope, name = self._scope_and_name(analysis, target, name_node, value)
        in_class = scope in self.shapes.class_scopes
        return {
            **(shape or self.shape_facts(analysis, target, name_node, value)),
            "scope": scope,
            "name": name,
            "class_name": analysis.class_name(enclosing(target, self.shapes.class_types)) if in_class else None,
        }

    def state_facts(self, analysis: FileAnalysis, target: SyntaxNode, name_node: SyntaxNode | None,
                    value: SyntaxNode | None, scope: str | None = None,
                    early: dict[str, Any] | None = None) -> tuple[dict[str, Any], list[WriteSite]]:
        """Facts for a named value, and its writes after start-up (`scope`, `early`: what state_scope and
        early_state_facts gave, when the caller has them)."""
        scope, name = self._scope_and_name(analysis, target, name_node, value)
        early = early or self.early_state_facts(analysis, target, name_node, value, scope)
        owner = enclosing(target, self.shapes.class_types)
        candidate = Candidate(target, name_node, value, scope, name, owner, analysis.class_name(owner),
                              enclosing(target, analysis.function_types))
        keys = self.keys(analysis, candidate)
        if scope == "closure":
            writes = analysis.closure_writes(candidate.fn, name)
        elif scope == "function" or not keys:
            writes = []
        else:
            writes = analysis.writes(keys, scope, name)
        class_name = early["class_name"]
        owner_words = split_words(candidate.owner_name) if scope != "module" else set()
        tags = write_tags(analysis.parsed, [w.line for w in writes])
        refs = analysis.clients_beside(keys)
        facts: dict[str, Any] = {
            **early,
            "words": split_words(name) | owner_words,
            "class_words": frozenset(owner_words),
            "symbol": f"{class_name}.{name}" if class_name else name,
            "writes": frozenset(w.op for w in writes),
            "written_after_init": any(w.op != "rebind" for w in writes),
            "rebound": any(w.op == "rebind" for w in writes),
            "stored": tags,
            "increments": "increment" in tags,
            "client_refs": refs,
            "clients": frozenset(kind for kind, _name, _verify in refs),
            **self.owner_facts(analysis, candidate),
        }
        facts.update(self.extra_facts(analysis, candidate, keys, writes, facts))
        return facts, writes
