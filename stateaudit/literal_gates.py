"""What a file must contain for a query pattern to match: words taken from the pattern's text predicates.

A pattern such as `((string) @target (#match? @target "^[fFrRuU]*[\\"']sqlite"))` is tried at every string of
every file, and py-tree-sitter evaluates its predicate in Python for each: on saleor that one pattern was 11 %
of the instructions of the Python query. But a predicate that tests a capture's text against a literal
(`#eq?`, `#any-of?`) or a regular expression with a literal part (`#match?`) can only hold in a file whose
text contains that literal, for a node's text is a piece of the file's. So a file that contains none of a
pattern's words is matched by a query without the pattern (syntax.query_and_index), with the same results.

Like the literal prefilters of ripgrep and Semgrep, the words are a necessary condition, never a sufficient
one: a file that contains them is matched by the whole query, as before.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from .callee_patterns import QUERY_CAPTURE, QUERY_STRING, unescape_query_string

try:  # the parsed form of a regular expression is re's own: its modules moved in Python 3.11
    from re import _constants as sre  # noqa: PLC2701
    from re import _parser as sre_parse  # noqa: PLC2701
except ImportError:  # Python 3.10
    import sre_constants as sre  # type: ignore[no-redef]
    import sre_parse  # type: ignore[no-redef]

MIN_WORD = 3  # a shorter word is in almost every file: no use as a gate
MAX_WORDS = 16  # alternatives kept for one part of a regular expression before it counts as any text

# A predicate whose arguments are all strings; group 2 its capture, group 3 its arguments' text.
_PREDICATE = re.compile(r"\(\s*#(eq|match|any-of)\?\s+" + QUERY_CAPTURE + r"((?:\s+" + QUERY_STRING + r")+)\s*\)")
_STRINGS = re.compile(QUERY_STRING)


def pattern_words(pattern: str, certain: Callable[[str], bool]) -> frozenset[bytes] | None:
    """Words one of which any file a match of `pattern` (one pattern's text) lies in contains; None when the
    pattern tests no capture against a literal (or only against short or spaced ones).

    Only predicates on a capture every match has count (`certain(name)`: tree-sitter's quantifier of the
    capture in the pattern is one or one-or-more): py-tree-sitter holds a predicate on a capture a match
    lacks (under `?`, `*`, or in one branch of an alternation only) to be true. Each such predicate gives a
    set of words; the one whose shortest word is longest is kept.
    """
    best: frozenset[str] | None = None
    for found in _PREDICATE.finditer(pattern):
        kind, capture, arguments = found.group(1, 2, 3)
        values = [unescape_query_string(v) for v in _STRINGS.findall(arguments)]
        if not values or any(v is None for v in values) or not certain(capture):
            continue
        if kind == "eq":
            words = frozenset(values) if len(values) == 1 else None
        elif kind == "any-of":
            words = frozenset(values)
        else:
            words = regex_words(values[0]) if len(values) == 1 else None
        if words and _usable(words) and (best is None or min(map(len, words)) > min(map(len, best))):
            best = words
    return frozenset(word.encode() for word in best) if best is not None else None


def fewest_words(words: set[bytes]) -> tuple[bytes, ...]:
    """The words to search a file for: a word that contains another is found when that one is (`cache` for
    `lru_cache`), so only the others are searched; sorted, for the same order in every process."""
    return tuple(sorted(w for w in words if not any(other != w and other in w for other in words)))


def _usable(words: frozenset[str]) -> bool:
    """Long enough, ASCII and without spaces: no decoding or blanked line can make or unmake one."""
    return all(len(w) >= MIN_WORD and w.isascii() and not any(c.isspace() for c in w) for w in words)


def regex_words(pattern: str) -> frozenset[str] | None:
    """Words one of which any text the regular expression finds a match in contains; None when there are
    none worth testing (or the expression is not one Python reads, or ignores case)."""
    try:
        parsed = sre_parse.parse(pattern)
        if parsed.state.flags & (re.IGNORECASE | re.VERBOSE):
            return None
        return _sequence(list(parsed))[1]
    except (re.error, RecursionError):  # reading its parts recurses as re's parser does: as deep, no deeper
        return None


# A part of a parsed expression is described by (exact, required): `exact`, the set of texts it matches when
# that set is small and known (None otherwise); `required`, words one of which every text it matches contains
# (None when there are none).
_Info = tuple[frozenset[str] | None, frozenset[str] | None]


def _sequence(items: list) -> _Info:
    """A concatenation: runs of exact parts are multiplied out into words; the best word set is kept."""
    candidates: list[frozenset[str]] = []
    nothing = frozenset({""})
    current = nothing  # the texts the run of exact parts so far matches
    exact_all = True
    for item in items:
        exact, required = _item(item)
        if required:
            candidates.append(required)
        if exact is not None:
            product = frozenset(a + b for a in current for b in exact)
            if len(product) <= MAX_WORDS:
                current = product
                continue
        exact_all = False
        if current != nothing:
            candidates.append(current)
        current = exact if exact is not None else nothing
    if current != nothing:
        candidates.append(current)
    candidates = [c for c in candidates if all(c)]
    best = max(candidates, key=lambda words: min(map(len, words)), default=None)
    return (current if exact_all else None), best


def _item(item) -> _Info:
    op, value = item
    if op is sre.LITERAL:
        return frozenset({chr(value)}), None
    if op is sre.AT:
        return frozenset({""}), None
    if op is sre.IN:
        if all(kind is sre.LITERAL for kind, _ in value) and len(value) <= MAX_WORDS:
            return frozenset(chr(code) for _, code in value), None
        return None, None
    if op is sre.SUBPATTERN:
        _group, add_flags, _del_flags, inner = value
        if add_flags & re.IGNORECASE:
            return None, None
        return _sequence(list(inner))
    if op is sre.BRANCH:
        infos = [_sequence(list(branch)) for branch in value[1]]
        exact = None
        if all(e is not None for e, _ in infos):
            union = frozenset().union(*(e for e, _ in infos))
            exact = union if len(union) <= MAX_WORDS else None
        # Each branch must require something for the whole to: one of its exact texts or its own words.
        per_branch = [r if r else (e if e is not None and all(e) else None) for e, r in infos]
        required = frozenset().union(*per_branch) if all(per_branch) else None
        if required is not None and len(required) > MAX_WORDS:
            required = None
        return exact, required
    if op in (sre.MAX_REPEAT, sre.MIN_REPEAT, getattr(sre, "POSSESSIVE_REPEAT", None)):
        low, high, inner = value
        exact, required = _sequence(list(inner))
        if low == high == 1:
            return exact, required
        if low >= 1:
            return None, required or (exact if exact is not None and all(exact) else None)
        return None, None
    return None, None  # any character, a category, a back reference, a look-around: unknown text


__all__ = ["MIN_WORD", "fewest_words", "pattern_words", "regex_words"]
