"""Measure stateaudit against the floor of a Python tool on tree-sitter, interleaved, in one run.

For each corpus (the real monorepos of ../shared/bench/, extracted as its README says, and a synthetic
monorepo this script generates), one round runs, back to back, each as a whole process:

  floor   ../shared/bench/floor.py --mode query on the very files stateaudit scans, same process count
  cold    stateaudit scan with an empty cache
  warm    the same scan again, nothing changed
  change  the same scan after one file changed (a comment appended; restored afterwards)
  ast-grep with the floor's 10 rules (benchmarks/ast_grep_rules.py) when installed
  semgrep  with the same 10 rules (benchmarks/semgrep_rules.py) on copies of the floor's files, when installed
  NAME    with --reference NAME=DIR, the stateaudit of another checkout: the cold scan's command, with an
          empty cache of its own; after this checkout's steps in rounds 1, 3, ..., before them in 2, 4, ...

It prints wall times, their ratio to the floor F of the same round, and the peak resident memory of the
whole process tree (sampled from /proc every 20 ms). Absolute times on a shared machine move by tens of
percent from one run to the next; compare the ratios, which are measured side by side.

    python benchmarks/run.py --corpus medusa=/tmp/bench-src/medusa --corpus saleor=/tmp/bench-src/saleor \\
        --synthetic 50 --synthetic 200 --synthetic 1000 --synthetic-one-service 1000 --jobs 2 --rounds 1
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

from stateaudit.config import Config  # noqa: E402
from stateaudit.discover import discover_files  # noqa: E402
from stateaudit.resources import rules_dir  # noqa: E402
from stateaudit.ruleset import load_rules  # noqa: E402

sys.path.insert(0, str(HERE))
import semgrep_rules  # noqa: E402
from ast_grep_rules import write_config  # noqa: E402
from synthetic import generate  # noqa: E402

DEFAULT_FLOOR = REPO.parent / "shared" / "bench" / "floor.py"
STEPS = ("floor", "cold", "warm", "change")


@dataclass
class Corpus:
    name: str
    root: Path
    language: str  # "ts" or "py": the floor's grammar, by the corpus's main language
    files: list[str]  # relative paths stateaudit scans in the floor's language
    megabytes: float
    lines: int
    times: dict[str, list[float]] = field(default_factory=dict)
    peaks: dict[str, list[float]] = field(default_factory=dict)


@dataclass(frozen=True)
class Run:
    wall: float
    peak_mb: float
    returncode: int
    stderr: str


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants, from /proc (Linux)."""
    total_kb = 0
    stack = [pid]
    while stack:
        current = stack.pop()
        try:
            with open(f"/proc/{current}/status") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        total_kb += int(line.split()[1])
                        break
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as children:
                    stack.extend(int(c) for c in children.read().split())
        except (OSError, ValueError):
            continue
    return total_kb / 1024


# Set by main(): where every measured process keeps Python's compiled bytecode.
BYTECODE: dict[str, str] = {}


def bytecode_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """`env` (default: ours) with Python's bytecode cache on, in the run's own folder.

    An installed tool has its modules compiled (pip compiles them at install); with PYTHONDONTWRITEBYTECODE
    set, as in some sandboxes and CI images, every run would compile stateaudit's sixty-odd modules again and
    the start-up of a warm scan would be mostly that. The first (floor, cold) runs of a round compile them.
    """
    out = {k: v for k, v in (os.environ if env is None else env).items() if k != "PYTHONDONTWRITEBYTECODE"}
    out.update(BYTECODE)
    return out


def run(command: list[str], env: dict[str, str] | None = None) -> Run:
    """Wall time of a whole process (start-up included) and the peak memory of its process tree."""
    peak = [0.0]
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                               env=bytecode_env(env))
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], tree_rss_mb(process.pid))
            done.wait(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, stderr = process.communicate()
    wall = time.perf_counter() - started
    done.set()
    sampler.join()
    return Run(wall, peak[0], process.returncode, stderr)


def load_corpus(name: str, root: Path) -> Corpus:
    """The files stateaudit would scan (tests included, as in the README figures), by language."""
    ruleset = load_rules([rules_dir()])
    files = discover_files(root, Config(include_tests=True), None, ruleset.roles).files
    python = [f for f in files if f.language == "python"]
    script = [f for f in files if f.language != "python"]
    chosen, language = (python, "py") if len(python) > len(script) else (script, "ts")
    size = sum(f.path.stat().st_size for f in chosen)
    lines = sum(f.path.read_bytes().count(b"\n") for f in chosen)
    return Corpus(name, root, language, [f.rel for f in chosen], size / 1e6, lines)


def floor_command(args, corpus: Corpus, listing: Path) -> list[str]:
    return [sys.executable, str(args.floor), "--lang", corpus.language, "--list", str(listing),
            "--root", str(corpus.root), "--mode", "query", "--jobs", str(args.jobs)]


def scan_command(args, corpus: Corpus, cache: Path) -> list[str]:
    return [sys.executable, "-m", "stateaudit", "scan", str(corpus.root), "--include-tests", "--format", "json",
            "-o", os.devnull, "--fail-on", "none", "--jobs", str(args.jobs), "--cache-dir", str(cache), "--quiet"]


def reference_runs(args, corpus: Corpus, workdir: Path) -> dict[str, tuple[list[str], dict[str, str]]]:
    """Another stateaudit checkout (--reference NAME=DIR): the cold step's command, with an empty cache of its
    own, so the two cold scans do the same work (parsing, and writing the cache).

    `-P` keeps the working directory off sys.path: run from a checkout, `-m stateaudit` would otherwise import
    that checkout's package, not the reference's.
    """
    runs = {}
    for spec in args.reference:
        name, _, folder = spec.partition("=")
        cache = workdir / f"{corpus.name}.{name}.cache"
        shutil.rmtree(cache, ignore_errors=True)
        command = [sys.executable, "-P", *scan_command(args, corpus, cache)[1:]]
        runs[name] = (command, dict(os.environ, PYTHONPATH=str(Path(folder).resolve())))
    return runs


def other_tools(args, corpus: Corpus, workdir: Path) -> dict[str, tuple[list[str], dict[str, str] | None]]:
    """ast-grep and Semgrep with the floor's 10 rules, each where installed, with the environment to run in."""
    tools = {}
    ast_grep = installed("ast-grep")
    if ast_grep:
        config = write_config(workdir / f"ast-grep-{corpus.language}", corpus.language)
        tools["ast-grep"] = ([ast_grep, "scan", "-c", str(config), "-j", str(args.jobs), "--json=stream",
                              str(corpus.root)], None)
    semgrep = installed("semgrep")
    if semgrep:
        tools["semgrep"] = (semgrep_command(semgrep, args, corpus, workdir), SEMGREP_OFFLINE)
    return tools


def installed(tool: str) -> str | None:
    """The path of `tool` on PATH or beside this Python (a venv's bin folder, not always on PATH)."""
    return shutil.which(tool) or shutil.which(tool, path=str(Path(sys.executable).parent))


# Semgrep without the network: no metrics, no version check (the config is a local file, not the registry).
SEMGREP_OFFLINE = {"SEMGREP_SEND_METRICS": "off", "SEMGREP_ENABLE_VERSION_CHECK": "0"}


def semgrep_command(semgrep: str, args, corpus: Corpus, workdir: Path) -> list[str]:
    """`semgrep scan` with the floor's rules on a copy of the floor's very files (pip install semgrep).

    Semgrep is given a folder holding copies of exactly those files: named one by one on its command line,
    pysemgrep takes about five times as long (saleor/checkout, 186 files: 183 s against 35 s), and the
    corpus's own root holds files stateaudit leaves out (medusa's browser code: about 5,700 script files, not 3,510).
    `--x-ignore-semgrepignore-files` keeps the `tests/` and `test/` folders its default ignore list drops.
    Its report goes to a file that semgrep_errors reads.
    """
    config = semgrep_rules.write_config(workdir / f"semgrep-{corpus.language}.yml", corpus.language)
    return [semgrep, "scan", "--config", str(config), "--metrics", "off", "--disable-version-check", "--quiet",
            "--x-ignore-semgrepignore-files", "--jobs", str(args.jobs), "--json",
            "--output", str(semgrep_report(corpus, workdir)), str(copy_of_files(corpus, workdir))]


def copy_of_files(corpus: Corpus, workdir: Path) -> Path:
    """A folder in the work folder holding a copy of each file the floor reads, at its relative path."""
    folder = workdir / f"{corpus.name}.files"
    shutil.rmtree(folder, ignore_errors=True)
    for rel in corpus.files:
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(corpus.root / rel, folder / rel)
    return folder


def semgrep_report(corpus: Corpus, workdir: Path) -> Path:
    return workdir / f"{corpus.name}.semgrep.json"


def semgrep_errors(corpus: Corpus, workdir: Path) -> str:
    """What Semgrep's own report says it scanned, matched and left out (it gives up on a file after 5 s per rule)."""
    try:
        report = json.loads(semgrep_report(corpus, workdir).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        return f"no readable report ({error})"
    kinds: dict[str, int] = {}
    for error in report.get("errors", []):
        kind = error.get("type", "error")  # a name, or [name, details] (e.g. ["PartialParsing", [locations]])
        kind = str(kind[0] if isinstance(kind, list) and kind else kind)
        kinds[kind] = kinds.get(kind, 0) + 1
    found = ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items())) or "no errors"
    scanned = len(report.get("paths", {}).get("scanned", []))
    return f"{scanned} of {len(corpus.files)} files scanned, {len(report.get('results', []))} matches, {found}"


def one_round(args, corpus: Corpus, workdir: Path, number: int = 0) -> None:
    """One round of every step on a corpus. The other checkouts' cold scans (--reference) run after this
    checkout's steps in even rounds and before them in odd ones: run always second, a step was measured on a
    machine the first had warmed (files in the page cache, CPU clocks up), which favoured it by several per
    cent in run Q."""
    references = reference_runs(args, corpus, workdir)
    if number % 2:
        _reference_steps(corpus, references)
    listing = workdir / f"{corpus.name}.list"
    listing.write_text("".join(f"./{rel}\n" for rel in corpus.files), encoding="utf-8")
    cache = workdir / f"{corpus.name}.cache"
    shutil.rmtree(cache, ignore_errors=True)
    commands = {"floor": floor_command(args, corpus, listing), "cold": scan_command(args, corpus, cache),
                "warm": scan_command(args, corpus, cache)}
    for step in ("floor", "cold", "warm"):
        record(corpus, step, run(commands[step]))
    changed = corpus.root / corpus.files[len(corpus.files) // 2]
    original = changed.read_bytes()
    try:
        changed.write_bytes(original + b"\n// edited by benchmarks/run.py\n")
        record(corpus, "change", run(commands["warm"]))
    finally:
        changed.write_bytes(original)
    for tool, (command, env) in other_tools(args, corpus, workdir).items():
        record(corpus, tool, run(command, None if env is None else dict(os.environ, **env)))
        if tool == "semgrep":
            print(f"  {corpus.name:10} semgrep: {semgrep_errors(corpus, workdir)}", file=sys.stderr, flush=True)
    if not number % 2:
        _reference_steps(corpus, references)


def _reference_steps(corpus: Corpus, references: dict[str, tuple[list[str], dict[str, str]]]) -> None:
    for name, (command, env) in references.items():
        record(corpus, name, run(command, env))


def record(corpus: Corpus, step: str, result: Run) -> None:
    # Exit 1 is a gate failure (a CRITICAL finding), but Python exits 1 on an uncaught exception too.
    if result.returncode not in (0, 1) or "Traceback (most recent call last)" in result.stderr:
        raise SystemExit(f"{corpus.name} {step}: exit {result.returncode}\n{result.stderr[-2000:]}")
    corpus.times.setdefault(step, []).append(result.wall)
    corpus.peaks.setdefault(step, []).append(result.peak_mb)
    print(f"  {corpus.name:10} {step:8} {result.wall:7.2f} s  {result.peak_mb:6.0f} MB", file=sys.stderr, flush=True)


def report(corpora: list[Corpus], args) -> dict:
    rows = {}
    print(f"\n{args.jobs} processes, {args.rounds} round(s), median wall time per step; F = the floor of the same "
          f"corpus\n")
    print("| corpus | files | MB | kLOC | step | wall s | ratio to F | peak RSS MB | s per MB |")
    print("| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: |")
    for corpus in corpora:
        floor = statistics.median(corpus.times["floor"])
        for step, times in corpus.times.items():
            wall = statistics.median(times)
            peak = max(corpus.peaks[step])
            rows.setdefault(corpus.name, {})[step] = {"wall_s": round(wall, 3), "ratio": round(wall / floor, 2),
                                                      "peak_mb": round(peak)}
            print(f"| {corpus.name} | {len(corpus.files)} | {corpus.megabytes:.1f} | {corpus.lines / 1000:.0f} | "
                  f"{step} | {wall:.2f} | {wall / floor:.2f} F | {peak:.0f} | {wall / corpus.megabytes:.3f} |")
    return rows


def costs_per_mb(sizes: list[tuple[float, float]]) -> list[tuple[float, float, float | None]]:
    """For (megabytes, wall seconds) of one step at several sizes: (megabytes, seconds per MB, marginal seconds
    per MB from the next smaller size), smallest first; the smallest has no marginal cost.

    Seconds per MB counts a process's fixed start-up against every size, so it falls as sizes grow for any
    tool, the floor included. The marginal cost, what each further MB adds, is what stays flat when the cost
    is linear in size.
    """
    ordered = sorted(sizes)
    rows: list[tuple[float, float, float | None]] = []
    for position, (megabytes, wall) in enumerate(ordered):
        marginal = None
        if position:
            smaller_mb, smaller_wall = ordered[position - 1]
            if megabytes > smaller_mb:
                marginal = (wall - smaller_wall) / (megabytes - smaller_mb)
        rows.append((megabytes, wall / megabytes, marginal))
    return rows


def spread(values: list[float]) -> float | None:
    """The largest value over the smallest: 1.2 means within 20 %. None with fewer than two, or when one is not
    positive (a larger size measured faster: the noise is larger than what is measured)."""
    if len(values) < 2 or min(values) <= 0:
        return None
    return max(values) / min(values)


def linearity(corpora: list[Corpus]) -> dict:
    """Print how the floor's and the cold scan's cost grow with size over each series of synthetic corpora
    (one per shape: many services, one service), and return the figures."""
    series: dict[str, list[Corpus]] = {}
    for corpus in corpora:  # named by main(): synth-50k, synth-1000k-1svc
        if corpus.name.startswith("synth-"):
            label = "synthetic, one service" if corpus.name.endswith("-1svc") else "synthetic"
            series.setdefault(label, []).append(corpus)
    figures = {}
    for label, members in series.items():
        if len(members) < 2:
            continue
        print(f"\nCost per MB by size ({label}; medians): seconds per MB, and what each MB adds over the size before\n")
        print("| step | MB | s per MB | marginal s per MB |")
        print("| --- | ---: | ---: | ---: |")
        for step in ("floor", "cold"):
            rows = costs_per_mb([(c.megabytes, statistics.median(c.times[step])) for c in members if step in c.times])
            for megabytes, per_mb, marginal in rows:
                shown = "" if marginal is None else f"{marginal:.3f}"
                print(f"| {step} | {megabytes:.1f} | {per_mb:.3f} | {shown} |")
            per_mb_spread = spread([per_mb for _mb, per_mb, _m in rows])
            marginal_spread = spread([m for _mb, _p, m in rows if m is not None])
            figures.setdefault(label, {})[step] = {"per_mb": [round(p, 4) for _mb, p, _m in rows],
                                                   "marginal": [None if m is None else round(m, 4) for _mb, _p, m in rows],
                                                   "per_mb_spread": per_mb_spread, "marginal_spread": marginal_spread}
            print(f"| {step}: spread | | {_times(per_mb_spread)} | {_times(marginal_spread)} |")
    return figures


def _times(ratio: float | None) -> str:
    return "" if ratio is None else f"{ratio:.2f}x"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", action="append", default=[], metavar="NAME=DIR",
                        help="A corpus to measure (repeatable); missing folders are reported and skipped.")
    parser.add_argument("--synthetic", action="append", type=int, default=[], metavar="KLOC",
                        help="Generate a synthetic TypeScript monorepo of about KLOC thousand lines (repeatable).")
    parser.add_argument("--synthetic-one-service", action="append", type=int, default=[], metavar="KLOC",
                        help="The same, with every file in one service (the most memory a join needs).")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--floor", type=Path, default=DEFAULT_FLOOR)
    parser.add_argument("--json", type=Path, help="Also write the figures as JSON to this file.")
    parser.add_argument("--reference", action="append", default=[], metavar="NAME=DIR",
                        help="Also time the stateaudit of another checkout (e.g. an older commit's `git archive`).")
    args = parser.parse_args()
    if not args.floor.is_file():
        raise SystemExit(f"{args.floor}: floor.py not found (../shared/bench/floor.py, or --floor)")
    with tempfile.TemporaryDirectory(prefix="stateaudit-bench-") as temp:
        workdir = Path(temp)
        BYTECODE["PYTHONPYCACHEPREFIX"] = str(workdir / "bytecode")
        corpora = []
        for spec in args.corpus:
            name, _, folder = spec.partition("=")
            if not Path(folder).is_dir():
                print(f"{name}: {folder} not found, skipped (see ../shared/bench/README.md)", file=sys.stderr)
                continue
            corpora.append(load_corpus(name, Path(folder)))
        for kloc, one in [(k, False) for k in args.synthetic] + [(k, True) for k in args.synthetic_one_service]:
            name = f"synth-{kloc}k" + ("-1svc" if one else "")
            generate(workdir / name, kloc, one_service=one)
            corpora.append(load_corpus(name, workdir / name))
        for number in range(args.rounds):
            print(f"round {number + 1}", file=sys.stderr)
            for corpus in corpora:  # interleaved: every corpus, every step, then the next round
                one_round(args, corpus, workdir, number)
        rows = report(corpora, args)
        rows["linearity"] = linearity(corpora)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
