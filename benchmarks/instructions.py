"""Instructions executed to match the same files, counted by callgrind: an A/B of checkouts that a loaded
or shared machine cannot blur.

On a shared machine, wall and CPU times of the same work move by tens of percent from run to run, which
hides any change of a few per cent. The number of instructions a process executes does not depend on the
load: two counts of the same code differ by 0.02 to 0.04 %. For this checkout, each `--reference NAME=DIR`
and the floor (reading, parsing and the 10-pattern query of ../shared/bench/queries, as floor.py does),
two processes run under `valgrind --tool=callgrind`, side by side: one loads the rules and matches one
warm-up file, the other also matches the N picked files. The difference is the instructions of matching
those files, without start-up or compiling (each run first compiles what a pool's parent compiles before
it forks, `match.prepare`). Instructions are not time (Python's are slower per
instruction than tree-sitter's C), so this compares versions of the same code, not tools.

    python benchmarks/instructions.py /tmp/bench-src/saleor/saleor/graphql --lang py --files 60 \\
        --reference base=/tmp/stateaudit-main

Needs valgrind (`apt-get install valgrind`); a run of 60 files takes about a minute per checkout.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FLOOR_QUERIES = REPO.parent / "shared" / "bench" / "queries"
EXTENSIONS = {"py": (".py",), "ts": (".ts",)}
GRAMMARS = {"py": "python", "ts": "typescript"}
_COLLECTED = re.compile(r"Collected : (\d+)")


def picked_files(root: Path, lang: str, count: int) -> list[Path]:
    """The warm-up file, then `count` files spread evenly over the sorted list (the same in every run)."""
    files = sorted(path for path in root.rglob("*") if path.suffix in EXTENSIONS[lang]
                   and not path.name.endswith(".d.ts") and "node_modules" not in path.parts and path.is_file())
    if not files:
        raise SystemExit(f"no {lang} files under {root}")
    rest = files[1:]
    step = max(1, len(rest) // max(count, 1))
    return [files[0], *rest[::step][:count]] if count else [files[0]]


def run_matching(checkout: Path, root: Path, lang: str, count: int) -> None:
    """Child: match the warm-up file, then the picked files, with the stateaudit of `checkout`."""
    sys.path.insert(0, str(checkout))
    from stateaudit.cli import load_ruleset
    from stateaudit.match import match_file, prepare
    from stateaudit.model import SourceFile

    ruleset = load_ruleset()
    # What the pool's parent compiles before it forks (every joined query a file of the grammar may run):
    # compiling is start-up, and a query compiled on first use would count in whichever run first needs it.
    prepare(ruleset, [GRAMMARS[lang]])
    for path in picked_files(root, lang, count):
        match_file(SourceFile(path, str(path.relative_to(root)), GRAMMARS[lang]), ruleset, data=path.read_bytes())


def run_floor(queries: Path, root: Path, lang: str, count: int) -> None:
    """Child: read, parse and run the floor's query on the same files (the warm-up file included)."""
    import tree_sitter

    if lang == "py":
        import tree_sitter_python as grammar
        language, query_file = tree_sitter.Language(grammar.language()), queries / "py.scm"
    else:
        import tree_sitter_typescript as grammar
        language, query_file = tree_sitter.Language(grammar.language_typescript()), queries / "ts.scm"
    parser, query = tree_sitter.Parser(language), tree_sitter.Query(language, query_file.read_text())
    for path in picked_files(root, lang, count):
        for _match in tree_sitter.QueryCursor(query).matches(parser.parse(path.read_bytes()).root_node):
            pass


def _child_env() -> dict[str, str]:
    """The same dict layouts in every run, and compiled modules written, so no counted run compiles one."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    return {**env, "PYTHONHASHSEED": "0"}


def _child_command(child_args: list[str]) -> list[str]:
    return [sys.executable, "-P", str(Path(__file__).resolve()), *child_args]


def compile_first(child_args: list[str]) -> None:
    """Run the child once, uncounted: a module changed since it was last compiled (or imported only while
    matching) is compiled now, not in one of the two counted runs, whose difference would then hold it."""
    done = subprocess.run(_child_command(child_args), env=_child_env(), capture_output=True, text=True)
    if done.returncode != 0:
        tail = " | ".join(done.stderr.strip().splitlines()[-3:])
        raise SystemExit(f"{' '.join(child_args[:2])}: the run failed (exit {done.returncode}): {tail}")


def counted(child_args: list[str]) -> subprocess.Popen:
    command = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *_child_command(child_args)]
    return subprocess.Popen(command, env=_child_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def instructions(process: subprocess.Popen, what: str) -> int:
    _out, err = process.communicate()
    found = _COLLECTED.findall(err)
    if process.returncode != 0 or not found:
        tail = " | ".join(err.strip().splitlines()[-3:])
        raise SystemExit(f"{what}: the counted run failed (exit {process.returncode}): {tail}")
    return int(found[-1])


def matching_instructions(kind: str, source: Path, args) -> int:
    """Instructions of matching the picked files: the run with them less the run with the warm-up file only."""
    base = [f"--child-{kind}", str(source), str(args.root), "--lang", args.lang]
    compile_first([*base, "--files", str(args.files)])
    alone, with_files = counted([*base, "--files", "0"]), counted([*base, "--files", str(args.files)])
    return instructions(with_files, f"{kind} {source}") - instructions(alone, f"{kind} {source}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path, help="Folder whose files are matched.")
    parser.add_argument("--lang", choices=sorted(EXTENSIONS), default="py")
    parser.add_argument("--files", type=int, default=60, help="How many files to match [default: 60].")
    parser.add_argument("--reference", action="append", default=[], metavar="NAME=DIR",
                        help="Another stateaudit checkout to count (repeatable).")
    parser.add_argument("--floor-queries", type=Path, default=FLOOR_QUERIES,
                        help="The floor's query files [default: ../shared/bench/queries].")
    parser.add_argument("--child-match", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--child-floor", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_match is not None:
        return run_matching(args.child_match, args.root, args.lang, args.files)
    if args.child_floor is not None:
        return run_floor(args.child_floor, args.root, args.lang, args.files)
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")
    checkouts = [("this checkout", REPO)]
    for spec in args.reference:
        name, _, directory = spec.partition("=")
        if not directory or not (Path(directory) / "stateaudit").is_dir():
            raise SystemExit(f"--reference {spec}: expected NAME=DIR, DIR a stateaudit checkout")
        checkouts.append((name, Path(directory).resolve()))
    floor = matching_instructions("floor", args.floor_queries, args) if args.floor_queries.is_dir() else None
    print(f"{args.files} {args.lang} files of {args.root}; instructions of matching them (callgrind)")
    first = None
    for name, checkout in checkouts:
        count = matching_instructions("match", checkout, args)
        first = first or count
        ratio = f"  {count / floor:5.2f} x floor" if floor else ""
        print(f"  {name:16s} {count / 1e6:9.1f} M{ratio}  {100 * (count - first) / first:+6.2f} % against {checkouts[0][0]}")
    if floor:
        print(f"  {'floor':16s} {floor / 1e6:9.1f} M")


if __name__ == "__main__":
    main()
