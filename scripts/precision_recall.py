#!/usr/bin/env python3
"""Measure stateaudit's precision and recall on the labelled corpus in fixtures/corpus.

Labels sit on the line before the code they describe: `// state: KIND` or `# state: KIND` marks
process-lived state of that kind, `not-state:` marks a look-alike trap. A finding counts as a true
positive when it is on a labelled line with the same kind; every other finding is a false positive.
Findings that say the state is already shared (`shared: yes`) are informative inventory rows, not
in-process state, and are left out. Usage: python scripts/precision_recall.py [CORPUS] [--verbose]
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path

from stateaudit.config import Config
from stateaudit.resources import rules_dir
from stateaudit.ruleset import load_rules
from stateaudit.scan import scan

LABEL = re.compile(r"^\s*(?://|#)\s*(state|not-state):\s*([\w-]+)?")


def labels(root: Path) -> tuple[dict[tuple[str, int], str], set[tuple[str, int]]]:
    """(file, line) -> kind for state labels, and the set of trap lines."""
    state: dict[tuple[str, int], str] = {}
    traps: set[tuple[str, int]] = set()
    for path in sorted(root.rglob("*")):
        if path.suffix not in (".ts", ".tsx", ".js", ".mjs", ".cjs", ".py"):
            continue
        rel = path.relative_to(root).as_posix()
        for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            match = LABEL.match(text)
            if match and match.group(1) == "state":
                state[(rel, number + 1)] = match.group(2)
            elif match:
                traps.add((rel, number + 1))
    return state, traps


def measure(root: Path, verbose: bool = False) -> dict[str, tuple[float, float]]:
    truth, traps = labels(root)
    report = scan(root, Config(include_tests=True), load_rules([rules_dir()])).report
    found = {(f.location.path, f.location.line, f.kind) for f in report.findings if f.shared != "yes"}
    tp, fp, fn = Counter(), Counter(), Counter()
    for path, line, kind in sorted(found):
        if truth.get((path, line)) == kind:
            tp[kind] += 1
        else:
            fp[kind] += 1
            if verbose:
                why = "trap" if (path, line) in traps else (f"labelled {truth[(path, line)]}" if (path, line) in truth else "unlabelled")
                print(f"FP {kind:11} {path}:{line} ({why})")
    for (path, line), kind in sorted(truth.items()):
        if (path, line, kind) not in found:
            fn[kind] += 1
            if verbose:
                print(f"FN {kind:11} {path}:{line}")
    results = {}
    print(f"{'kind':12} {'TP':>4} {'FP':>4} {'FN':>4} {'precision':>10} {'recall':>8}")
    for kind in sorted(set(truth.values()) | set(tp) | set(fp)) + ["overall"]:
        t, f, n = ((sum(tp.values()), sum(fp.values()), sum(fn.values())) if kind == "overall"
                   else (tp[kind], fp[kind], fn[kind]))
        precision = t / (t + f) if t + f else 1.0
        recall = t / (t + n) if t + n else 1.0
        results[kind] = (precision, recall)
        print(f"{kind:12} {t:4} {f:4} {n:4} {precision:10.3f} {recall:8.3f}")
    return results


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("-")]
    corpus = Path(args[0]) if args else Path(__file__).resolve().parent.parent / "fixtures" / "corpus"
    measure(corpus, verbose="--verbose" in sys.argv or "-v" in sys.argv)
