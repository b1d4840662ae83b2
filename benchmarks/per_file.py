"""The slowest files of a scan, by CPU time, each matched alone in this process (no pool, no cache).

Checks the bound on single files: with the shape check and the per-file budget, no file should cost more
than the budget (2 s of CPU by default).

    python benchmarks/per_file.py /tmp/eval-src/* --top 10 --include-browser
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from stateaudit.config import Config  # noqa: E402
from stateaudit.discover import discover_files  # noqa: E402
from stateaudit.pool import FileWork, match_one  # noqa: E402
from stateaudit.resources import rules_dir  # noqa: E402
from stateaudit.ruleset import load_rules  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("roots", nargs="+", type=Path)
    parser.add_argument("--top", type=int, default=10)
    parser.add_argument("--budget", type=float, default=2.0, help="file_budget, CPU seconds (0: none)")
    parser.add_argument("--include-browser", action="store_true", help="Also browser code (themes/, static/...).")
    args = parser.parse_args()
    ruleset = load_rules([rules_dir()])
    work = FileWork(ruleset, budget_s=args.budget, include_browser=args.include_browser)
    config = Config(include_tests=True, include_browser=args.include_browser)
    timings = []
    skipped = []
    for root in args.roots:
        for file in discover_files(root, config, None, ruleset.roles).files:
            started = time.process_time()
            result = match_one(file, work)
            timings.append((time.process_time() - started, f"{root}/{file.rel}"))
            if result.error is not None:
                skipped.append(f"{root}/{file.rel}: {result.error.message}")
    for seconds, path in sorted(timings, reverse=True)[: args.top]:
        print(f"{seconds:7.2f} s CPU  {path}")
    print(f"{len(timings)} files; slowest {max(timings)[0]:.2f} s CPU; "
          f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MB")
    for line in skipped:
        print(f"skipped: {line}")


if __name__ == "__main__":
    main()
