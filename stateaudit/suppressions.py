"""Inline suppressions that keep their reasons: `stateaudit: ignore[RULE-ID] reason [expires=YYYY-MM-DD]`.

A comment on a finding's line or the line above suppresses that rule's finding there. Suppressed
findings stay in every report, marked with the comment's reason. A comment that cannot do its job
(no rule id, an unknown rule, no reason, a bad or past expiry date, a risk the config makes
unsuppressible) or that matches nothing is itself reported, as a LOW finding of the built-in rule
`stateaudit.suppression`, so it shows in every format and can be gated on with --fail-on-rule.
Comments without a reason, past their date or aimed at an unsuppressible risk are not applied.
"""

from __future__ import annotations

import datetime as dt
import difflib
import functools
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace

from .classify import fingerprint
from .model import Finding, Location, Risk, SuppressionNote
from .resources import rules_dir
from .ruleset import Rule, RuleSet

RULE_ID = "stateaudit.suppression"
BUILTIN_FOLDER = "builtin"
# The comment marker keeps prose that mentions the syntax (a docstring, a string) from counting.
COMMENT = re.compile(r"(?:#|//|/\*|^\s*\*)\s*stateaudit:\s*ignore\b(?P<ids>\[[^\]]*\])?(?P<rest>.*)")
EXPIRES = re.compile(r"(?:^|\s)expires=(?P<date>\S*)")
COMMENT_END = re.compile(r"\s*(?:\*/|-->)\s*$")
LEADING_PUNCTUATION = re.compile(r"^[\s:;,.\-–—]+")


@dataclass(frozen=True)
class Suppression:
    """One `stateaudit: ignore` comment as written."""

    line: int
    rule_ids: tuple[str, ...]
    reason: str
    expires: str | None  # the text after `expires=`, if the comment has one
    text: str  # the whole line, stripped: the hygiene finding's snippet

    def expiry(self) -> dt.date | None:
        """The expiry date; ValueError when the text is not a YYYY-MM-DD date."""
        return dt.date.fromisoformat(self.expires) if self.expires is not None else None


def find_suppressions(lines: Iterable[bytes | str]) -> tuple[Suppression, ...]:
    """Every suppression comment in a file's lines (1-based line numbers)."""
    found = []
    for number, raw in enumerate(lines, start=1):
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        if "stateaudit:" not in text:
            continue
        match = COMMENT.search(text)
        if match is None:
            continue
        ids = tuple(i.strip() for i in (match.group("ids") or "[]")[1:-1].split(",") if i.strip())
        rest = COMMENT_END.sub("", match.group("rest"))
        expires = EXPIRES.search(rest)
        if expires:
            rest = rest[:expires.start()] + rest[expires.end():]
        reason = LEADING_PUNCTUATION.sub("", rest).strip()
        found.append(Suppression(number, ids, reason, expires.group("date") if expires else None, text.strip()))
    return tuple(found)


@functools.lru_cache(maxsize=1)
def suppression_rule() -> Rule:
    """The built-in rule's record, with its documentation read from rules/builtin/ (a rule set from the
    cache has it already: PyYAML is imported here only when it is read)."""
    import yaml

    path = rules_dir() / BUILTIN_FOLDER / f"{RULE_ID}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return Rule(
        id=data["id"], title=data["title"], kind=data["kind"], languages=tuple(data["languages"]), subject="auto",
        risk=Risk.parse(data["risk"]), confidence=data["confidence"], message=data["message"], docs=data["docs"],
        where=None, assess=(), state_type="Suppression comment", category="suppression", path=path,
    )


def with_builtin_rules(ruleset: RuleSet) -> RuleSet:
    """The rule set plus the built-in rules, so reports, `rules` and `explain` know them; no query runs for them."""
    if RULE_ID in ruleset.rules or RULE_ID in ruleset.disabled:
        return ruleset
    rule = suppression_rule()
    return replace(ruleset, rules={**ruleset.rules, rule.id: rule})


def without_builtin_rules(ruleset: RuleSet) -> RuleSet:
    """The rule set as the rule files define it: what per-file results (and their cache) depend on."""
    if RULE_ID not in ruleset.rules:
        return ruleset
    return replace(ruleset, rules={k: v for k, v in ruleset.rules.items() if k != RULE_ID})


@dataclass(frozen=True)
class SuppressionPolicy:
    known_rules: frozenset[str]  # rule ids a comment may name
    active_rules: frozenset[str]  # rule ids that can produce findings in this scan
    unsuppressible: frozenset[Risk]
    today: dt.date
    risk: Risk = Risk.LOW  # the hygiene finding's risk (config risk_overrides may change it)


@dataclass
class _Use:
    """What happened when a comment met a finding of a rule it names."""

    applied: set[str]  # rule ids it suppressed a finding of
    refused: dict[str, list[str]]  # rule id -> why it could not suppress that rule's findings


def apply_suppressions(findings: list[Finding], comments: Mapping[str, tuple[Suppression, ...]],
                       policy: SuppressionPolicy, owner: Callable[[str], tuple[str, str]]) -> list[Finding]:
    """Mark the findings a valid comment covers as suppressed, and add a finding for each faulty comment.

    `comments` maps a file's path to its suppression comments; `owner(path)` is (service, language).
    """
    if not comments:
        return findings
    at = {(path, s.line): s for path, found in comments.items() for s in found}
    uses: dict[tuple[str, int], _Use] = {}
    result = []
    for f in findings:
        comment = _comment_for(f, at)
        if comment is None or f.suppressed:
            result.append(f)
            continue
        use = uses.setdefault((f.location.path, comment.line), _Use(set(), {}))
        refusal = _refusal(comment, f, policy)
        if refusal:
            use.refused.setdefault(f.rule_id, []).append(refusal)
            result.append(f)
            continue
        use.applied.add(f.rule_id)
        note = SuppressionNote("inline", comment.reason, comment.line, comment.expires)
        result.append(replace(f, suppressed=True, suppression=note,
                              reasons=(*f.reasons, f"suppressed at line {comment.line}: {comment.reason}")))
    if RULE_ID not in policy.active_rules:
        return result
    for path, found in sorted(comments.items()):
        for comment in found:
            problems = _problems(comment, uses.get((path, comment.line)), policy)
            if problems:
                result.append(_hygiene_finding(path, comment, problems, policy.risk, *owner(path)))
    return result


def _comment_for(f: Finding, at: Mapping[tuple[str, int], Suppression]) -> Suppression | None:
    """The comment on the finding's line, else the line above, that names the finding's rule."""
    for line in (f.location.line, f.location.line - 1):
        comment = at.get((f.location.path, line))
        if comment is not None and f.rule_id in comment.rule_ids:
            return comment
    return None


def _refusal(comment: Suppression, f: Finding, policy: SuppressionPolicy) -> str | None:
    """Why this comment may not suppress this finding, or None when it may."""
    if not comment.reason:
        return "gives no reason, so it is not applied: write why after the rule id"
    try:
        expiry = comment.expiry()
    except ValueError:
        return f"has expires={comment.expires}, which is not a YYYY-MM-DD date, so it is not applied"
    if expiry is not None and expiry < policy.today:
        return f"expired on {expiry.isoformat()}, so the finding is reported again: renew or remove it"
    if f.risk in policy.unsuppressible:
        return f"cannot suppress a {f.risk.name} finding: the config makes {f.risk.name} unsuppressible"
    return None


def _problems(comment: Suppression, use: _Use | None, policy: SuppressionPolicy) -> list[str]:
    if not comment.rule_ids:
        return ["names no rule: write ignore[RULE-ID] and the reason (`stateaudit rules` lists the ids)"]
    problems = []
    for rule_id in comment.rule_ids:
        if rule_id not in policy.known_rules:
            hint = difflib.get_close_matches(rule_id, sorted(policy.known_rules), n=1)
            problems.append(f"names unknown rule '{rule_id}'" + (f"; did you mean '{hint[0]}'?" if hint else ""))
    if use is not None:
        problems += list(dict.fromkeys(r for refusals in use.refused.values() for r in refusals))
    elif not comment.reason:
        problems.append("gives no reason: write why after the rule id")
    unused = [r for r in comment.rule_ids if r in policy.active_rules and r != RULE_ID
              and not (use and (r in use.applied or r in use.refused))]
    if unused:
        problems.append(f"matches no {', '.join(unused)} finding on its line or the next: remove it")
    return problems


def _hygiene_finding(path: str, comment: Suppression, problems: list[str], risk: Risk, service: str,
                     language: str) -> Finding:
    ids = ",".join(comment.rule_ids)
    symbol = f"ignore[{ids}]"
    column = 1 + (len(comment.text) - len(comment.text.lstrip()))
    message = f"Suppression `{symbol}` " + "; ".join(problems)
    message += "" if message.endswith(("?", ".")) else "."
    return Finding(
        rule_id=RULE_ID, kind="suppression", category="suppression", state_type="Suppression comment",
        storage="n/a", shared="n/a", risk=risk, priority="P3", confidence="high",
        action="Fix or remove the suppression comment", effort="minutes", message=message,
        location=Location(path, comment.line, column, comment.line, column + len(comment.text)),
        service=service, language=language, symbol=symbol, snippet=comment.text[:160],
        reasons=(f"{RULE_ID} baseline LOW; {'; '.join(problems)}",),
        fingerprint=fingerprint(RULE_ID, path, symbol, comment.text),  # the comment's text, not its line
    )


def policy_for(ruleset: RuleSet, unsuppressible: Iterable[Risk], risk_overrides: Mapping[str, Risk],
               today: dt.date | None = None) -> SuppressionPolicy:
    return SuppressionPolicy(
        known_rules=frozenset(ruleset.rules) | ruleset.disabled | {RULE_ID},
        active_rules=frozenset(ruleset.rules),
        unsuppressible=frozenset(unsuppressible),
        today=today or dt.date.today(),
        risk=risk_overrides.get(RULE_ID, Risk.LOW),
    )


__all__ = ["RULE_ID", "Suppression", "apply_suppressions", "find_suppressions", "policy_for", "suppression_rule",
           "with_builtin_rules", "without_builtin_rules"]
