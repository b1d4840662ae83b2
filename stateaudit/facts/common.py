"""Language-neutral fact helpers: words in names, what a file path is for."""

from __future__ import annotations

import re

from ..vocabulary import current as vocabulary

_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")


def split_words(name: str | None) -> set[str]:
    """Lower-case words of an identifier, singular and plural: `breakerStates` -> {breaker, breakers, state, states}."""
    if not name:
        return set()
    words = set()
    for part in re.split(r"[_\W]+", name):
        for word in _CAMEL.findall(part):
            word = word.lower()
            words.add(word)
            if word.endswith("ies") and len(word) > 4:
                words.add(word[:-3] + "y")
            elif word.endswith("s") and not word.endswith("ss") and len(word) > 3:
                words.add(word[:-1])
            else:
                words.add(word + "s")
    return words


def purpose_of_path(text: str) -> str:
    """What a written path is for: upload, log, tmp, data or other (the first purpose of the vocabulary's
    `paths.purposes` with a pattern found in the text)."""
    for purpose, pattern in vocabulary().group_matchers("paths.purposes"):
        if pattern.search(text or ""):
            return purpose
    return "other"


_TAGS = (
    ("increment", re.compile(r"\+\+|\+=\s*\d|\+\s*1\b|\bcount\w*\s*[+:]|\bincr\w*\(")),
    ("handle", re.compile(r"\b(controller|AbortController|abort\w*|promise|Promise|worker|child|socket|ws|stream|timer|timeout|interval)\b")),
    ("callback", re.compile(r"\b(resolve|reject|callback|waiter|waiters)\s*[,:})]")),
    ("timer-handle", re.compile(r"=\s*(setInterval|setTimeout|setImmediate)\(|=\s*threading\.Timer\(")),
)


def write_tags(lines: list[str]) -> frozenset[str]:
    """What the writes put into the state: counters, live handles, callbacks, timer handles."""
    return frozenset(tag for tag, pattern in _TAGS if any(pattern.search(line) for line in lines))


_CLIENT_CALL = re.compile(r"\.(set|setex|hset|hmset|sadd|zadd|lpush|rpush|incr|expire|delete|del|create|createMany|update|"
                          r"upsert|insert|save|query|execute|add|commit|bulk_create|get_or_create)\s*\(")
_CLIENT_WRITE = re.compile(r"INSERT|UPDATE|DELETE|\.(set|setex|hset|sadd|zadd|lpush|rpush|incr|create|upsert|insert|save|"
                           r"bulk_create|get_or_create|commit)\s*\(")


def writes_through_client(body_text: str) -> bool:
    """Does a class body write through a store client (Redis commands, SQL writes, ORM saves)?"""
    return bool(_CLIENT_CALL.search(body_text)) and bool(_CLIENT_WRITE.search(body_text))
