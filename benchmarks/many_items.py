"""Time per item of one file holding N module-level collections, each written in a function.

A helper that looks through the whole file for every candidate makes such a file cost O(N^2): this
prints the CPU time of matching one generated TypeScript and one Python file (parse, queries, facts;
no file budget) at each N, and per item, so a superlinear step shows as a growing ms/item.

    python benchmarks/many_items.py 500 1000 3000 6000
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from stateaudit.match import match_file  # noqa: E402
from stateaudit.model import SourceFile  # noqa: E402
from stateaudit.resources import rules_dir  # noqa: E402
from stateaudit.ruleset import load_rules  # noqa: E402


def typescript(n: int) -> str:
    """An Express module: per item a Map and a counter, a handler writing both, its route and a timer."""
    return 'import express from "express";\nconst app = express();\n' + "".join(
        f"const cache{i} = new Map<string, number>();\n"
        f"let counter{i} = 0;\n"
        f"function remember{i}(req: any, res: any) {{\n  cache{i}.set(req.params.k, 1);\n  counter{i} += 1;\n"
        f"  res.json({{ n: cache{i}.size }});\n}}\n"
        f"app.get('/r{i}/:k', remember{i});\n"
        f"setInterval(() => cache{i}.clear(), 1000);\n" for i in range(n)) + "export { app };\n"


def python(n: int) -> str:
    """A Flask module: per item a dict and a counter rebound through `global` in a route, and a helper."""
    return "from flask import Flask\napp = Flask(__name__)\n\n" + "".join(
        f"cache{i} = {{}}\ncounter{i} = 0\n\n"
        f"@app.route('/r{i}/<k>')\ndef remember{i}(k):\n    global counter{i}\n    cache{i}[k] = 1\n"
        f"    counter{i} += 1\n    return str(len(cache{i}))\n\n"
        f"def helper{i}(k):\n    cache{i}.setdefault(k, []).append(k)\n\n" for i in range(n))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[500, 1000, 3000, 6000])
    args = parser.parse_args()
    ruleset = load_rules([rules_dir()])
    print("| language | items | CPU s | ms per item | matches |\n| --- | ---: | ---: | ---: | ---: |")
    with tempfile.TemporaryDirectory(prefix="stateaudit-many-") as temp:
        for language, make, suffix in (("typescript", typescript, ".ts"), ("python", python, ".py")):
            for n in args.sizes:
                path = Path(temp) / f"items{n}{suffix}"
                path.write_text(make(n), encoding="utf-8")
                started = time.process_time()
                result = match_file(SourceFile(path, rel=path.name, language=language), ruleset)
                spent = time.process_time() - started
                print(f"| {language} | {n} | {spent:.2f} | {1000 * spent / n:.2f} | {len(result.matches)} |", flush=True)


if __name__ == "__main__":
    main()
