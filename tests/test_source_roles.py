"""Browser and vendored code is left out by default, counted, and scanned on request."""

from __future__ import annotations

import json

from click.testing import CliRunner

from stateaudit.cli import main

from .conftest import FIXTURES

SERVICES = FIXTURES / "source-roles"
BROWSER_FILES = {
    "edge-api/public/app.js",  # a public/ folder
    "edge-api/src/lib/dom.js",  # uses window and DOM calls, in a server's src/
    "quizhub/frontend-widgets/timer.js",  # a package.json with a `browser` field
    "quizhub/quizhub/themes/classic/assets/js/scoreboard.js",  # a theme package: front-end deps, no server
    "quizhub/quizhub/themes/classic/static/bundle.js",
}
VENDORED_FILES = {
    "quizhub/quizhub/vendor/minicache/__init__.py",  # a vendor/ folder
    "edge-api/src/python/verify_signature.py",  # Python in a service whose only manifest is a package.json
}


def _scan(*args: str) -> dict:
    result = CliRunner().invoke(main, ["scan", str(SERVICES), "--format", "json", "--fail-on", "none", *args],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _symbols(report: dict) -> set[tuple[str, str]]:
    return {(f["file"], f["symbol"]) for f in report["findings"]}


def test_browser_and_vendored_code_is_left_out_and_listed():
    report = _scan()
    excluded = {(e["file"], e["role"]) for e in report["excluded"]}
    assert excluded == {(f, "browser") for f in BROWSER_FILES} | {(f, "vendored") for f in VENDORED_FILES}
    assert report["summary"]["files_excluded"] == {"browser": 5, "vendored": 2}
    assert report["summary"]["files_scanned"] == 4
    assert not {f["file"] for f in report["findings"]} & (BROWSER_FILES | VENDORED_FILES)


def test_server_code_beside_browser_code_is_still_scanned():
    found = _symbols(_scan())
    assert ("quizhub/quizhub/app.py", "answer_counts") in found
    # Python under a folder named static is server code; only JS/TS in such folders is browser code.
    assert ("quizhub/quizhub/schema/static/choices.py", "recent_choices") in found
    # An isomorphic module that asks `typeof window` runs on the server too.
    assert ("edge-api/src/lib/env.js", "seenHosts") in found
    assert ("edge-api/src/server.js", "sessions") in found


def test_include_flags_scan_what_policy_left_out():
    with_browser = _scan("--include-browser")
    assert with_browser["excluded"] == [{"file": f, "role": "vendored"} for f in sorted(VENDORED_FILES)]
    found = _symbols(with_browser)
    assert ("quizhub/quizhub/themes/classic/assets/js/scoreboard.js", "standings") in found
    assert ("edge-api/src/lib/dom.js", "listeners") in found
    with_vendored = _scan("--include-vendored")
    assert ("quizhub/quizhub/vendor/minicache/__init__.py", "_store") in _symbols(with_vendored)
    assert {e["role"] for e in with_vendored["excluded"]} == {"browser"}


def test_config_keys_include_browser_and_vendored(tmp_path):
    config = tmp_path / "stateaudit.yml"
    config.write_text("include_browser: true\ninclude_vendored: true\n", encoding="utf-8")
    assert _scan("--config", str(config))["excluded"] == []


def test_summary_says_what_was_left_out():
    result = CliRunner().invoke(main, ["scan", str(SERVICES), "--fail-on", "none"], catch_exceptions=False)
    assert "Left out by policy: 5 browser files, 2 vendored files" in " ".join(result.stdout.split())
    md = CliRunner().invoke(main, ["scan", str(SERVICES), "--format", "markdown", "--fail-on", "none"],
                            catch_exceptions=False)
    assert "Left out by policy: 5 browser files, 2 vendored files (scan them with `--include-browser` / " \
           "`--include-vendored`)." in md.stdout


def test_a_team_vocabulary_extends_the_markers(tmp_path):
    team = tmp_path / "team-rules"
    (team / "vocabulary").mkdir(parents=True)
    (team / "vocabulary" / "ours.yaml").write_text("vendored:\n  folders: [schema]\n", encoding="utf-8")
    report = _scan("--rules", str(team))
    assert ("quizhub/quizhub/schema/static/choices.py", "vendored") in {(e["file"], e["role"]) for e in report["excluded"]}


def test_a_broken_vocabulary_is_a_file_and_line_error(tmp_path):
    team = tmp_path / "team-rules"
    (team / "vocabulary").mkdir(parents=True)
    bad = team / "vocabulary" / "bad.yaml"
    bad.write_text("browser:\n  folders: [static]\n  colours: [red]\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["scan", str(SERVICES), "--rules", str(team)])
    assert result.exit_code == 2
    assert f"{bad}:3: unknown key 'browser.colours'" in result.output
    assert "Traceback" not in result.output


def test_a_name_the_file_binds_itself_is_not_the_browser_global(ruleset):
    from stateaudit.syntax import parse_source

    roles = ruleset.roles
    page = parse_source(b"window.addEventListener('load', boot);\n", "javascript")
    assert roles.role_by_content(page) == "browser"
    for server_code, language in (
        (b"export const open = (ws: Window[]) => ws.filter((window) => window.endsAt > Date.now());\n", "typescript"),
        (b"function inWindow(window) { return window.start < Date.now(); }\n", "javascript"),
        (b"const document = await Document.findByPk(id);\ndocument.querySelector = null;\n", "typescript"),
        (b"if (typeof window === 'undefined') { module.exports = serverImpl; } else { window.x = 1; }\n", "javascript"),
    ):
        assert roles.role_by_content(parse_source(server_code, language)) is None, server_code
