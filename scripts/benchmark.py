#!/usr/bin/env python3
"""Speed and memory benchmark: scan a synthetic monorepo made of N copies of the bundled fixtures.

Prints files, lines, wall time, lines per second and peak RSS. Goals (checked here, never in a timed
test): 100k lines in under 60 s and under 1 GiB peak RSS on 2 cores; and no quadratic blow-up on one
large file full of state (600 stores, writes, timers and file writes per language) - under 10 s.
Usage: python scripts/benchmark.py [--copies N]
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

from stateaudit.config import Config
from stateaudit.resources import rules_dir
from stateaudit.ruleset import load_rules
from stateaudit.scan import scan

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
GOAL_SECONDS_PER_100K = 60.0
GOAL_RSS_MB = 1024
GOAL_LARGE_FILES_SECONDS = 10.0


def build_tree(target: Path, copies: int) -> None:
    for i in range(copies):
        for name in ("aiponge", "corpus", "rules", "traps"):
            source = FIXTURES / name
            if source.is_dir():
                shutil.copytree(source, target / f"copy{i:03d}" / name)


def build_large_files(target: Path, entries: int = 600) -> None:
    """One TypeScript and one Python file with many state items: per-candidate whole-file work shows here."""
    ts = ["import fs from 'fs';"]
    py = ["import os"]
    for i in range(entries):
        ts.append(f"const store{i} = new Map<string, number>();\nfunction reg{i}(k: string) {{ store{i}.set(k, {i}); }}\n"
                  f"export function h{i}(req: any) {{ reg{i}(req.id); fs.writeFileSync('data/out{i}.json', '{{}}'); "
                  f"setInterval(() => store{i}.clear(), 1000); }}\n")
        py.append(f"STORE{i} = {{}}\ndef reg{i}(k):\n    STORE{i}[k] = {i}\n"
                  f"    with open('data/out{i}.json', 'w') as f:\n        f.write('x')\n")
    target.mkdir(parents=True, exist_ok=True)
    (target / "large.ts").write_text("\n".join(ts), encoding="utf-8")
    (target / "large.py").write_text("\n".join(py), encoding="utf-8")


def time_large_files(ruleset) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        build_large_files(Path(tmp))
        started = time.perf_counter()
        report = scan(Path(tmp), Config(), ruleset).report
        elapsed = time.perf_counter() - started
    print(f"large files: {report.lines_scanned} lines, {len(report.findings)} findings in {elapsed:.2f} s")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        build_tree(root, args.copies)
        ruleset = load_rules([rules_dir()])
        started = time.perf_counter()
        report = scan(root, Config(include_tests=True), ruleset).report
        elapsed = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rate = report.lines_scanned / elapsed if elapsed else float("inf")
    print(f"files {report.files_scanned}  lines {report.lines_scanned}  findings {len(report.findings)}")
    print(f"wall {elapsed:.2f} s  {rate:,.0f} lines/s  peak RSS {peak_mb:.0f} MB")
    seconds_per_100k = 100_000 / rate if rate else 0.0
    large = time_large_files(ruleset)
    ok = seconds_per_100k <= GOAL_SECONDS_PER_100K and peak_mb <= GOAL_RSS_MB and large <= GOAL_LARGE_FILES_SECONDS
    print(f"goal: <= {GOAL_SECONDS_PER_100K:.0f} s per 100k lines (measured {seconds_per_100k:.1f} s), "
          f"<= {GOAL_RSS_MB} MB peak (measured {peak_mb:.0f} MB), large files <= {GOAL_LARGE_FILES_SECONDS:.0f} s "
          f"(measured {large:.1f} s): {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
