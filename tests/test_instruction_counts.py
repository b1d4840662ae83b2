"""benchmarks/instructions.py compares checkouts by the instructions their matching executes. The counting
needs valgrind and minutes, so it is not run here; what each counted process does is: it must pick the
same files every time and run the matching (or the floor's work) on them without failing."""

from __future__ import annotations

import subprocess
import sys

from .conftest import FIXTURES, REPO

SCRIPT = REPO / "benchmarks" / "instructions.py"


def _child(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-P", str(SCRIPT), *args], capture_output=True, text=True, timeout=300)


def test_the_files_picked_are_the_warm_up_file_then_an_even_spread(tmp_path):
    for index in range(10):
        (tmp_path / f"m{index}.py").write_text(f"X{index} = {{}}\n")
    (tmp_path / "types.d.ts").write_text("export type A = string;\n")
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        import instructions
    finally:
        sys.path.remove(str(SCRIPT.parent))
    picked = [path.name for path in instructions.picked_files(tmp_path, "py", 3)]
    assert picked == ["m0.py", "m1.py", "m4.py", "m7.py"]
    assert [path.name for path in instructions.picked_files(tmp_path, "py", 0)] == ["m0.py"]
    assert instructions.picked_files(tmp_path, "py", 3) == instructions.picked_files(tmp_path, "py", 3)


def test_the_counted_processes_match_the_files_with_the_checkout_given():
    for lang in ("py", "ts"):
        done = _child("--child-match", str(REPO), str(FIXTURES / "corpus"), "--lang", lang, "--files", "4")
        assert done.returncode == 0, done.stderr


def test_the_floors_counted_process_parses_and_queries_the_same_files(tmp_path):
    queries = tmp_path / "queries"
    queries.mkdir()
    (queries / "py.scm").write_text("(call function: (identifier) @fn) @call\n")
    (queries / "ts.scm").write_text("(call_expression function: (identifier) @fn) @call\n")
    for lang in ("py", "ts"):
        done = _child("--child-floor", str(queries), str(FIXTURES / "corpus"), "--lang", lang, "--files", "4")
        assert done.returncode == 0, done.stderr


def test_without_valgrind_it_says_so_in_one_line(tmp_path):
    done = subprocess.run([sys.executable, "-P", str(SCRIPT), str(FIXTURES / "corpus")], capture_output=True,
                          text=True, timeout=60, env={"PATH": str(tmp_path)})
    assert done.returncode == 1 and done.stderr.strip() == "valgrind is not installed (apt-get install valgrind)"
