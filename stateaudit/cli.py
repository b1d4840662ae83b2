"""Command line: wiring only. Reads flags, runs the pipeline, writes output, returns exit codes."""

from __future__ import annotations

import io
import json
import os
import sys
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import NoReturn

import click
from click.core import ParameterSource

from . import __version__
from .atomic import write_atomic
from .baseline import (
    BASELINE_NAME,
    Baseline,
    BaselineError,
    BaselineOutcome,
    baseline_dict,
    entries_dict,
    load_baseline,
    write_json,
)
from .cache import CACHE_DIR_NAME, cached_rules, load_known_queries, save_known_queries
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
from .gate import failing as gate_failures
from .interrupt import interruptible
from .progress import ScanProgress, progress_wanted
from .resources import rules_dir, shipped_fixtures_dir
from .ruleset import RuleError, RuleSet, load_rules
from .scan import ScanResult, scan
from .suppressions import with_builtin_rules
from .syntax import EXTENSIONS

# Commands import what only they use (reports, rich tables, templates, git, merge) when they run: a scan
# whose report is JSON should not pay for loading the HTML templating on every start-up.

FORMAT_NAMES = {"table": "table", "html": "html", "json": "json", "markdown": "md", "md": "md", "sarif": "sarif",
                "github": "github", "summary": "summary"}
# `-o FILE` takes its format from the file's extension; other names (e.g. $GITHUB_STEP_SUMMARY) take --format.
EXTENSION_FORMATS = {".json": "json", ".sarif": "sarif", ".html": "html", ".htm": "html", ".md": "md",
                     ".markdown": "md", ".txt": "table"}


def fail(message: str) -> NoReturn:
    click.echo(f"stateaudit: {message}", err=True)
    sys.exit(ExitCode.USAGE_ERROR)


def load_ruleset(extra: tuple[Path, ...] = (), builtin: bool = True, cache: Path | None = None,
                 check_queries: bool = True) -> RuleSet:
    """The shipped rules and `extra` folders' rules; with the built-in ones (stateaudit.suppression) unless told not.

    With `cache` (a scan's cache folder), a rule set loaded before from the same files is reused; what the
    cache holds has the built-in rules (their documentation is YAML too: reading it would import PyYAML),
    so a rule set without them is never taken from it. With `check_queries=False` the rules' queries are
    left for the scan to check, for the grammars its files use (scan.scan): a scan's cached rule set is one.
    """
    folders = [rules_dir(), *extra]
    try:
        if not builtin:
            return load_rules(folders, check_queries)
        return cached_rules(cache, folders, lambda dirs: with_builtin_rules(load_rules(dirs, check_queries)))
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


def scan_options(command):
    """The options `scan` and `baseline` share: what to scan and how to judge it."""
    options = [
        click.argument("paths", nargs=-1, type=click.Path(path_type=Path)),
        click.option("--include-tests", is_flag=True, default=None, help="Also scan test and spec files."),
        click.option("--include-browser", is_flag=True, default=None,
                     help="Also scan browser code (static/, assets/, themes, front-end packages, files using window)."),
        click.option("--include-vendored", is_flag=True, default=None,
                     help="Also scan vendored third-party folders (vendor/, third_party/)."),
        click.option("--exclude", multiple=True, metavar="GLOB",
                     help="Skip paths matching this gitignore-style glob (repeatable)."),
        click.option("--rules", "rule_dirs", multiple=True, type=click.Path(file_okay=False, path_type=Path),
                     help="Add a folder of rule files (repeatable)."),
        click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
                     help="Config file [default: .stateaudit.yml or pyproject.toml at the scan root]."),
        click.option("--min-confidence", type=click.Choice(["low", "medium", "high"]), default=None,
                     help="Hide findings below this confidence."),
        click.option("-j", "--jobs", type=click.IntRange(min=1), default=None,
                     help="Processes for per-file work [default: the cores available]; small scans use one."),
        click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path),
                     help=f"Keep per-file results here [default: {CACHE_DIR_NAME}/ in the scan root]."),
        click.option("--no-cache", is_flag=True, help="Neither read nor write cached per-file results."),
        click.option("-q", "--quiet", is_flag=True, help="No progress bar."),
        click.option("--file-budget", type=click.FloatRange(min=0), default=None, metavar="SECONDS",
                     help="CPU seconds one file may take before it is cut short and reported; 0: no limit "
                          "[default: 2]."),
        interruptible,
    ]
    for option in reversed(options):
        command = option(command)
    return command


@dataclass(frozen=True)
class Scanning:
    """What `scan` and `baseline` share: the scan root, the config with the flags on top, the rules, and how to run."""

    root: Path
    config: Config
    ruleset: RuleSet
    paths: tuple[Path, ...]
    jobs: int | None
    cache: Path | None
    quiet: bool

    def run(self, baseline: Baseline | None = None, keep=None) -> ScanResult:
        """Scan with a progress bar, then print each file's problem, internal error and warning on stderr."""
        try:
            with ScanProgress(progress_wanted(self.quiet)) as progress:
                result = scan(self.root, self.config, self.ruleset, list(self.paths) or None, baseline,
                              jobs=self.jobs, progress=progress.advance, cache_dir=self.cache,
                              on_files=progress.start, keep=keep)
        except RuleError as err:  # a query of a grammar the files use does not compile
            fail(str(err))
        if self.cache is not None and not any(w.startswith(f"cache {self.cache}") for w in result.warnings):
            save_known_queries(self.cache)
        _print_problems(result)
        return result


def prepare(paths: tuple[Path, ...], options: dict, **overrides) -> Scanning:
    """Check the paths, read the config with the flags on top, load and check the rules."""
    for path in paths:
        if not path.exists():
            fail(f"{path}: no such file or directory")
    root = _scan_root(paths)
    exclude, rule_dirs = options["exclude"], options["rule_dirs"]
    try:
        config = load_config(options["config_path"] or find_config(root))
        config = config.merged(
            include_tests=options["include_tests"], include_browser=options["include_browser"],
            include_vendored=options["include_vendored"], min_confidence=options["min_confidence"],
            file_budget=options["file_budget"],
            exclude=tuple(config.exclude) + tuple(exclude) if exclude else None,
            rule_dirs=tuple(config.rule_dirs) + tuple(p.resolve() for p in rule_dirs) if rule_dirs else None,
            **overrides,
        )
    except ConfigError as err:
        fail(str(err))
    cache = None if options["no_cache"] else (options["cache_dir"] or root / CACHE_DIR_NAME)
    if cache is not None:
        load_known_queries(cache)
    ruleset = load_ruleset(config.rule_dirs, cache=cache, check_queries=False)
    try:
        check_against_rules(config, ruleset)
    except ConfigError as err:
        fail(str(err))
    return Scanning(root, config, ruleset, paths, options["jobs"], cache, options["quiet"])


def _print_problems(result) -> None:
    """One stderr line per skipped or degraded file, internal error and warning; control characters escaped."""
    report = result.report
    lines = ([(f"{one_line(e.path)}: {e.message}", "dim") for e in report.errors]
             + [(f"{one_line(d.path)}: {d.message}", "dim") for d in report.degraded]
             + [(f"{one_line(e.path)}: internal error{f' in rule {e.rule}' if e.rule else ''}: {e.message}", "red")
                for e in report.internal_errors]
             + [(one_line(w), "dim") for w in result.warnings])
    color = False if "NO_COLOR" in os.environ or os.environ.get("TERM") == "dumb" else None  # None: if a terminal
    for text, style in lines:
        # click, not rich: these lines are printed on most scans, and rich costs start-up time to import.
        click.secho(f"stateaudit: {text}", err=True, color=color, dim=style == "dim",
                    fg="red" if style == "red" else None)


def one_line(text: str) -> str:
    """A path or message as one printable line: a newline in a file name must not split the message."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def read_baseline(path: Path) -> Baseline:
    try:
        baseline = load_baseline(path)
    except BaselineError as err:
        fail(str(err))
    if baseline.legacy:
        click.echo(f"stateaudit: {path} is a findings JSON report, read as a baseline; "
                   f"`stateaudit baseline --prune -o {path}` rewrites it as a baseline file with counts", err=True)
    return baseline


def baseline_of(root: Path, config: Config, use_default: bool) -> Path | None:
    """--baseline or the config's `baseline:`, else `.stateaudit-baseline.json` at the scan root if present."""
    if config.baseline is not None:
        return config.baseline
    default = (root if root.is_dir() else root.parent) / BASELINE_NAME
    return default if use_default and default.is_file() else None


def report_baseline(outcome: BaselineOutcome | None, limit: int = 20) -> None:
    """On stderr: how many findings the baseline covered, and its entries that matched nothing."""
    if outcome is None:
        return
    click.echo(f"stateaudit: the baseline {outcome.path} covered {outcome.covered} "
               f"finding{'s' if outcome.covered != 1 else ''}", err=True)
    if outcome.fixed:
        count = len(outcome.fixed)
        click.echo(f"stateaudit: {count} baseline entr{'ies' if count != 1 else 'y'} no longer match (fixed); "
                   f"`stateaudit baseline --prune` drops {'them' if count != 1 else 'it'}:", err=True)
        for entry in outcome.fixed[:limit]:
            click.echo(f"  fixed: {entry.label()}", err=True)
        if count > limit:
            click.echo(f"  … and {count - limit} more", err=True)


@main.command("scan")
@scan_options
@click.option("--format", "fmt", type=click.Choice(sorted(FORMAT_NAMES)), default="table", show_default=True,
              help="Output format.")
@click.option("-o", "--output", "outputs", multiple=True, metavar="[FORMAT:]FILE",
              help="Write the report to FILE, in the format its extension names (.html .sarif .json .md .txt; "
                   "other names take --format), or in FORMAT (e.g. summary:$GITHUB_STEP_SUMMARY). Repeatable; "
                   "with -o, stdout stays quiet unless --format is given for a format no file takes.")
@click.option("--fail-on", type=click.Choice(["CRITICAL", "HIGH", "MEDIUM", "LOW", "none"], case_sensitive=False),
              default=None, help="Exit 1 when an unsuppressed finding is at or above this risk [default: CRITICAL].")
@click.option("--fail-on-rule", "fail_rules", multiple=True, metavar="RULE-ID",
              help="Also exit 1 when an unsuppressed finding of this rule remains, whatever its risk (repeatable).")
@click.option("--show-suppressed", is_flag=True, help="Show suppressed findings in the terminal table.")
@click.option("--baseline", "baseline_path", type=click.Path(dir_okay=False, path_type=Path),
              help=f"A baseline file (`stateaudit baseline`) whose findings are accepted: only new ones fail "
                   f"[default: {BASELINE_NAME} at the scan root, if there is one].")
@click.option("--no-baseline", is_flag=True, help="Ignore the baseline: report and gate on every finding.")
@click.option("--diff-base", metavar="REF",
              help="Report only findings whose code (or a write site) was added or changed since the git commit "
                   "REF, including untracked files; the whole service is still analysed.")
def scan_command(paths, fmt, outputs, fail_on, fail_rules, show_suppressed, baseline_path, no_baseline, diff_base,
                 **options) -> None:
    """Scan PATHS (default: the current folder) for in-process state."""
    try:
        gate_level = parse_fail_on(fail_on) if fail_on is not None else None
    except ConfigError as err:
        fail(str(err))
    scanning = prepare(paths, options, baseline=baseline_path.resolve() if baseline_path else None)
    if fail_on is not None:
        scanning = replace(scanning, config=replace(scanning.config, fail_on=gate_level))
    root, config, ruleset = scanning.root, scanning.config, scanning.ruleset
    if fail_rules:
        from .catalogue import UnknownRule, find_rule
    for rule_id in fail_rules:
        try:
            find_rule(ruleset, rule_id)
        except UnknownRule as err:
            fail(f"--fail-on-rule: {err}")
    chosen = None if no_baseline else baseline_of(root, config, use_default=True)
    changed = None
    if diff_base:
        from .gitdiff import GitDiffError, changed_lines

        try:
            changed = changed_lines(root, diff_base)
        except GitDiffError as err:
            fail(str(err))
    seen = Counter()

    def in_diff(finding) -> bool:
        kept = changed.covers(finding)
        seen[kept] += 1
        return kept

    result = scanning.run(read_baseline(chosen) if chosen else None, in_diff if changed else None)
    if changed is not None:
        click.echo(f"stateaudit: --diff-base {diff_base}: {seen[True]} of {seen[True] + seen[False]} findings are "
                   f"in code added or changed since {diff_base} ({len(changed.files)} changed files)", err=True)
    failing = gate_failures(result.report, config.fail_on, fail_rules)
    explicit = click.get_current_context().get_parameter_source("fmt") is not ParameterSource.DEFAULT
    for fmt_name, target in outputs_for(FORMAT_NAMES[fmt], outputs, explicit):
        write_output(fmt_name, target, result, failing, show_suppressed)
    report_baseline(result.baseline)
    sys.exit(gate(result.report, config.fail_on, fail_rules))


@main.command("baseline")
@scan_options
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help=f"The baseline file [default: the config's `baseline:`, else {BASELINE_NAME} at the scan root].")
@click.option("--prune", is_flag=True,
              help="Only drop the entries that no longer match a finding (fixed); accept nothing new.")
def baseline_command(paths, output, prune, **options) -> None:
    """Accept today's findings: write a baseline file that `scan` reads, so only new state fails the gate."""
    scanning = prepare(paths, options)
    root, config = scanning.root, scanning.config
    target = output or baseline_of(root, config, use_default=False) or (
        (root if root.is_dir() else root.parent) / BASELINE_NAME)
    if prune:
        if not target.is_file():
            fail(f"{target}: no baseline to prune; write one with `stateaudit baseline`")
        old = read_baseline(target)
        result = scanning.run(old)
        fixed = set(result.baseline.fixed) if result.baseline else set()
        kept = [e for e in old.entries if e not in fixed]
        write_json(target, entries_dict(kept, __version__))
        click.echo(f"pruned {target}: dropped {len(old.entries) - len(kept)} fixed entr"
                   f"{'ies' if len(old.entries) - len(kept) != 1 else 'y'}, kept {len(kept)}")
        for entry in sorted(fixed, key=lambda e: (e.file, e.line, e.rule)):
            click.echo(f"  fixed: {entry.label()}")
        return
    result = scanning.run()
    if result.report.internal_errors:
        fail("internal errors during the scan (listed above); the baseline was not written")
    data = baseline_dict(result.report.findings, __version__)
    write_json(target, data)
    by_risk = ", ".join(f"{n} {risk}" for risk, n in data["counts"]["by_risk"].items() if n)
    click.echo(f"wrote {target}: {data['counts']['findings']} findings accepted" + (f" ({by_risk})" if by_risk else ""))


def output_format(path: Path, default: str) -> str:
    """The format a file's name asks for: `.sarif.json` and `.sarif` are SARIF; unknown names take `default`."""
    name = path.name.lower()
    if name.endswith(".sarif.json"):
        return "sarif"
    return EXTENSION_FORMATS.get(path.suffix.lower(), default)


def split_output(text: str) -> tuple[str | None, Path]:
    """`FORMAT:PATH` (e.g. `summary:$GITHUB_STEP_SUMMARY`) names the format outright; a plain path does not."""
    prefix, sep, rest = text.partition(":")
    if sep and prefix in FORMAT_NAMES and rest:
        return FORMAT_NAMES[prefix], Path(rest)
    return None, Path(text)


def outputs_for(fmt: str, outputs: tuple[str, ...], explicit: bool) -> list[tuple[str, Path | None]]:
    """(format, file) pairs to write; None is stdout."""
    files = []
    for text in outputs:
        named, path = split_output(text)
        files.append((named or output_format(path, fmt), path))
    if not files or (explicit and fmt not in {f for f, _ in files}):
        files.append((fmt, None))
    return files


def write_output(fmt: str, output: Path | None, result: ScanResult, failing, show_suppressed: bool) -> None:
    """The report to stdout, or to `output` in one atomic step (an old report stays whole until replaced)."""
    from .report import FORMATTERS

    report = result.report
    if fmt in ("table", "summary", "github"):
        from rich.console import Console

        from .report import github as github_report
        from .report import summary as summary_report
        from .report.terminal import print_report
    if fmt == "table" and output is None:
        print_report(report, Console(), show_suppressed)
        return
    if fmt == "table":
        buffer = io.StringIO()
        print_report(report, Console(file=buffer, width=160, no_color=True), show_suppressed)
        text = buffer.getvalue()
    elif fmt == "summary":
        text = summary_report.render(report, result.baseline, failing)
    elif fmt == "github":
        text = github_report.render(report)
    else:
        text = FORMATTERS[fmt](report)
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        write_atomic(output, text)
    except OSError as err:
        fail(f"{output}: cannot write the report ({err.strerror})")


@main.command("diff")
@click.argument("old", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("new", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["table", "markdown"]), default="table", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to FILE.")
def diff_command(old, new, fmt, output) -> None:
    """Compare two findings JSON reports: what appeared, disappeared and changed risk, by fingerprint."""
    from rich.console import Console

    from .compare import ReportFileError, compare, read_report
    from .compare import print_table as print_comparison
    from .compare import render_markdown as compare_markdown

    try:
        comparison = compare(read_report(old), read_report(new), old.name, new.name)
    except ReportFileError as err:
        fail(str(err))
    if fmt == "markdown":
        text = compare_markdown(comparison)
        if output is None:
            click.echo(text, nl=False)
        else:
            output.write_text(text, encoding="utf-8")
        return
    if output is None:
        print_comparison(comparison, Console())
    else:
        with output.open("w", encoding="utf-8") as handle:
            print_comparison(comparison, Console(file=handle, width=160, no_color=True))


MERGE_FORMATS = {".json": "json", ".md": "md", ".markdown": "md", ".html": "html", ".htm": "html"}


@main.command("merge")
@click.argument("reports", nargs=-1, required=True, metavar="[NAME=]REPORT.json...")
@click.option("-o", "--output", "outputs", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Write the merged inventory to FILE: .md, .html or .json by its extension (repeatable). "
                   "Default: Markdown on stdout.")
@click.option("--title", default="", help="The inventory's title [default: Organisation].")
def merge_command(reports, outputs, title) -> None:
    """Merge the findings JSON of several repositories into one inventory with a section per repository.

    Each REPORT is `scan --format json` output; NAME=REPORT names its repository (default: the report's
    scan root, else the file's name).
    """
    from .compare import ReportFileError
    from .merge import load_reports, merged_json
    from .merge import render_html as merge_html
    from .merge import render_markdown as merge_markdown

    try:
        loaded = load_reports(list(reports))
    except ReportFileError as err:
        fail(str(err))
    for path in outputs:
        if path.suffix.lower() not in MERGE_FORMATS:
            fail(f"{path}: merge writes .md, .html or .json; name the file with one of those extensions")
    renderers = {"md": lambda: merge_markdown(loaded, title), "html": lambda: merge_html(loaded, title),
                 "json": lambda: json.dumps(merged_json(loaded), indent=2, sort_keys=True, ensure_ascii=False) + "\n"}
    if not outputs:
        click.echo(renderers["md"](), nl=False)
        return
    for path in outputs:
        path.write_text(renderers[MERGE_FORMATS[path.suffix.lower()]](), encoding="utf-8")
        click.echo(f"wrote {path}")


RULES_OPTION = click.option("--rules", "rule_dirs", multiple=True, type=click.Path(file_okay=False, path_type=Path),
                            help="Add a folder of rule files (repeatable).")


@main.command("rules")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "markdown"]), default="table", show_default=True,
              help="markdown is the full catalogue (docs/rules.md).")
@RULES_OPTION
@interruptible
def rules_command(fmt, rule_dirs) -> None:
    """List the rules: id, languages, kind, default risk and title."""
    from rich.console import Console

    from .catalogue import render_json, render_markdown, rules_table

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
    from rich.console import Console
    from rich.markdown import Markdown

    from .catalogue import UnknownRule, find_rule
    from .templating import rule_markdown

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
    from .ruletest import check_fixture, fixture_paths, rule_folders, rules_under_test, summary

    if not dirs:
        default = shipped_fixtures_dir()
        if default is None:
            fail("test-rules needs the folders that hold your fixture files")
        dirs = (default,)
    own = rule_folders(list(dirs), list(rule_dirs), rules_dir())
    ruleset = load_ruleset(tuple(own), builtin=False)
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
    from .syntax import parse_source, sexp

    language = EXTENSIONS.get(file.suffix.lower())
    if language is None:
        fail(f"{file}: not a file stateaudit parses (use one of {', '.join(sorted(EXTENSIONS))})")
    try:
        source = file.read_bytes()
    except OSError as err:
        fail(f"{file}: cannot read ({err.strerror})")
    click.echo(sexp(parse_source(source, language, file.name, recover=False).root), nl=False)
