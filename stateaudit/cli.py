"""Command line: wiring only. Reads flags, runs the pipeline, writes output, returns exit codes."""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path
from typing import NoReturn

import click
from rich.console import Console
from rich.text import Text

from . import __version__
from .atomic import write_atomic
from .baseline import BaselineError, load_baseline
from .cache import CACHE_DIR_NAME, load_known_queries, save_known_queries
from .catalogue import UnknownRule, find_rule, render_json, render_markdown, rules_table
from .config import (
    Config,
    ConfigError,
    check_against_rules,
    find_config,
    load_config,
    parse_fail_on,
    write_starter,
)
from .gate import ExitCode, gate
from .interrupt import interruptible
from .pool import default_jobs
from .progress import ScanProgress, progress_wanted
from .report import FORMATTERS
from .report.terminal import print_report
from .resources import rules_dir, shipped_fixtures_dir
from .ruleset import RuleError, RuleSet, load_rules
from .ruletest import (
    check_fixture,
    fixture_paths,
    rule_folders,
    rules_under_test,
    summary,
)
from .scan import scan
from .syntax import EXTENSIONS, parse_source, sexp
from .templating import rule_markdown

FORMAT_NAMES = {"table": "table", "html": "html", "json": "json", "markdown": "md", "md": "md", "sarif": "sarif"}


def fail(message: str) -> NoReturn:
    click.echo(f"stateaudit: {message}", err=True)
    sys.exit(ExitCode.USAGE_ERROR)


def load_ruleset(extra: tuple[Path, ...] = ()) -> RuleSet:
    try:
        return load_rules([rules_dir(), *extra])
    except RuleError as err:
        fail(str(err))


def _scan_root(paths: tuple[Path, ...]) -> Path:
    if not paths:
        return Path(".")
    if len(paths) == 1:
        return paths[0] if paths[0].is_dir() else paths[0].parent
    return Path(os.path.commonpath([str(p.resolve()) for p in paths]))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="stateaudit")
def main() -> None:
    """Find the in-process state that stops services from running as many identical instances."""


@main.command("scan")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(sorted(FORMAT_NAMES)), default="table", show_default=True,
              help="Output format.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write the report to FILE.")
@click.option("--fail-on", type=click.Choice(["CRITICAL", "HIGH", "MEDIUM", "LOW", "none"], case_sensitive=False),
              default=None, help="Exit 1 when an unsuppressed finding is at or above this risk [default: CRITICAL].")
@click.option("--include-tests", is_flag=True, default=None, help="Also scan test and spec files.")
@click.option("--include-browser", is_flag=True, default=None,
              help="Also scan browser code (static/, assets/, themes, front-end packages, files using window).")
@click.option("--include-vendored", is_flag=True, default=None,
              help="Also scan vendored third-party folders (vendor/, third_party/).")
@click.option("--exclude", multiple=True, metavar="GLOB", help="Skip paths matching this gitignore-style glob (repeatable).")
@click.option("--rules", "rule_dirs", multiple=True, type=click.Path(file_okay=False, path_type=Path),
              help="Add a folder of rule files (repeatable).")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Config file [default: .stateaudit.yml or pyproject.toml at the scan root].")
@click.option("--min-confidence", type=click.Choice(["low", "medium", "high"]), default=None,
              help="Hide findings below this confidence.")
@click.option("--show-suppressed", is_flag=True, help="Show suppressed findings in the terminal table.")
@click.option("--baseline", "baseline_path", type=click.Path(dir_okay=False, path_type=Path),
              help="A findings JSON report (--format json -o FILE) whose findings are accepted: only new ones fail.")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None,
              help="Processes for per-file work [default: the cores available]; small scans use one.")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path),
              help=f"Keep per-file results here [default: {CACHE_DIR_NAME}/ in the scan root].")
@click.option("--no-cache", is_flag=True, help="Neither read nor write cached per-file results.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
@click.option("--file-budget", type=click.FloatRange(min=0), default=None, metavar="SECONDS",
              help="CPU seconds one file may take before it is cut short and reported; 0: no limit [default: 2].")
@interruptible
def scan_command(paths, fmt, output, fail_on, include_tests, include_browser, include_vendored, exclude, rule_dirs,
                 config_path, min_confidence, show_suppressed, baseline_path, jobs, cache_dir, no_cache, quiet,
                 file_budget) -> None:
    """Scan PATHS (default: the current folder) for in-process state."""
    for path in paths:
        if not path.exists():
            fail(f"{path}: no such file or directory")
    root = _scan_root(paths)
    try:
        config = load_config(config_path or find_config(root))
        config = config.merged(
            fail_on=parse_fail_on(fail_on) if fail_on is not None else None,
            include_tests=include_tests,
            include_browser=include_browser,
            include_vendored=include_vendored,
            exclude=tuple(config.exclude) + tuple(exclude) if exclude else None,
            rule_dirs=tuple(config.rule_dirs) + tuple(p.resolve() for p in rule_dirs) if rule_dirs else None,
            min_confidence=min_confidence,
            baseline=baseline_path.resolve() if baseline_path else None,
            file_budget=file_budget,
        )
    except ConfigError as err:
        fail(str(err))
    if fail_on is not None and fail_on.lower() == "none":
        config = _without_gate(config)
    cache = None if no_cache else (cache_dir or root / CACHE_DIR_NAME)
    if cache is not None:
        load_known_queries(cache)
    ruleset = load_ruleset(config.rule_dirs)
    try:
        check_against_rules(config, ruleset)
    except ConfigError as err:
        fail(str(err))
    try:
        accepted = load_baseline(config.baseline) if config.baseline else frozenset()
    except BaselineError as err:
        fail(str(err))
    with ScanProgress(progress_wanted(quiet)) as progress:
        result = scan(root, config, ruleset, list(paths) or None, accepted, jobs=jobs or default_jobs(),
                      progress=progress.advance, cache_dir=cache, on_files=progress.start)
    if cache is not None and not any(w.startswith(f"cache {cache}") for w in result.warnings):
        save_known_queries(cache)
    _print_problems(result)
    _write(result.report, FORMAT_NAMES[fmt], output, show_suppressed)
    sys.exit(gate(result.report, config.fail_on))


def _print_problems(result) -> None:
    """One stderr line per skipped or degraded file, internal error and warning; control characters escaped."""
    err_console = Console(stderr=True)
    report = result.report
    lines = ([(f"{one_line(e.path)}: {e.message}", "dim") for e in report.errors]
             + [(f"{one_line(d.path)}: {d.message}", "dim") for d in report.degraded]
             + [(f"{one_line(e.path)}: internal error{f' in rule {e.rule}' if e.rule else ''}: {e.message}", "red")
                for e in report.internal_errors]
             + [(one_line(w), "dim") for w in result.warnings])
    for text, style in lines:
        err_console.print(Text(f"stateaudit: {text}", style=style), highlight=False, soft_wrap=True)


def one_line(text: str) -> str:
    """A path or message as one printable line: a newline in a file name must not split the message."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _without_gate(config: Config) -> Config:
    from dataclasses import replace

    return replace(config, fail_on=None)


def _write(report, fmt: str, output: Path | None, show_suppressed: bool) -> None:
    """The report to stdout, or to `output` in one atomic step (an old report stays whole until replaced)."""
    if fmt == "table" and output is None:
        print_report(report, Console(), show_suppressed)
        return
    if fmt == "table":
        buffer = io.StringIO()
        print_report(report, Console(file=buffer, width=160, no_color=True), show_suppressed)
        text = buffer.getvalue()
    else:
        text = FORMATTERS[fmt](report)
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        write_atomic(output, text)
    except OSError as err:
        fail(f"{output}: cannot write the report ({err.strerror})")


RULES_OPTION = click.option("--rules", "rule_dirs", multiple=True, type=click.Path(file_okay=False, path_type=Path),
                            help="Add a folder of rule files (repeatable).")


@main.command("rules")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "markdown"]), default="table", show_default=True,
              help="markdown is the full catalogue (docs/rules.md).")
@RULES_OPTION
@interruptible
def rules_command(fmt, rule_dirs) -> None:
    """List the rules: id, languages, kind, default risk and title."""
    ruleset = load_ruleset(tuple(p.resolve() for p in rule_dirs))
    if fmt == "table":
        Console().print(rules_table(ruleset))
    else:
        click.echo((render_json if fmt == "json" else render_markdown)(ruleset), nl=False)


@main.command("explain")
@click.argument("rule_id")
@RULES_OPTION
@interruptible
def explain_command(rule_id, rule_dirs) -> None:
    """Show what RULE_ID finds, why it matters and how to fix it."""
    from rich.markdown import Markdown

    ruleset = load_ruleset(tuple(p.resolve() for p in rule_dirs))
    try:
        rule = find_rule(ruleset, rule_id)
    except UnknownRule as err:
        fail(str(err))
    Console().print(Markdown(rule_markdown(rule, "#")))


@main.command("init")
@click.argument("folder", required=False, default=".", type=click.Path(file_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite an existing .stateaudit.yml.")
@interruptible
def init_command(folder, force) -> None:
    """Write a commented starter .stateaudit.yml into FOLDER (default: the current folder)."""
    try:
        target = write_starter(folder, force)
    except ConfigError as err:
        fail(str(err))
    click.echo(f"wrote {target}")


@main.command("test-rules")
@click.argument("dirs", nargs=-1, type=click.Path(exists=True, path_type=Path))
@RULES_OPTION
@click.option("-q", "--quiet", is_flag=True, help="Print only the cases that fail, and the summary.")
@interruptible
def test_rules_command(dirs, rule_dirs, quiet) -> None:
    """Check fixtures' `expect:` / `ok:` marks against a scan of each fixture.

    DIRS are folders of fixtures (or single fixtures). A fixture is a source file, scanned alone, or a folder
    with a service manifest (package.json, pyproject.toml ...), scanned whole; rule files found directly in them are loaded and are
    the rules under test, with those of --rules. Default: the shipped fixtures, in a source checkout.
    """
    if not dirs:
        default = shipped_fixtures_dir()
        if default is None:
            fail("test-rules needs the folders that hold your fixture files")
        dirs = (default,)
    own = rule_folders(list(dirs), list(rule_dirs), rules_dir())
    ruleset = load_ruleset(tuple(own))
    files = [f for d in dirs for f in fixture_paths(d)]
    if not files:
        fail(f"no fixture files ({', '.join(sorted(set(EXTENSIONS)))}) in {', '.join(map(str, dirs))}")
    results = [check_fixture(f, ruleset, rules_under_test(ruleset, own)) for f in files]
    for result in results:
        for case in result.cases(_display(result.path)):
            if not quiet or not case.startswith("found"):
                click.echo(case)
    click.echo(summary(results))
    sys.exit(ExitCode.CLEAN if all(r.passed for r in results) else ExitCode.GATE_FAILED)


def _display(path: Path) -> str:
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.as_posix()


@main.command("parse")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@interruptible
def parse_command(file) -> None:
    """Print FILE's syntax tree as a tree-sitter S-expression, to help write rule queries."""
    language = EXTENSIONS.get(file.suffix.lower())
    if language is None:
        fail(f"{file}: not a file stateaudit parses (use one of {', '.join(sorted(EXTENSIONS))})")
    try:
        source = file.read_bytes()
    except OSError as err:
        fail(f"{file}: cannot read ({err.strerror})")
    click.echo(sexp(parse_source(source, language, file.name, recover=False).root), nl=False)
