"""The progress bar: only for a person at a terminal, only for scans that take a while."""

from __future__ import annotations

import io

from click.testing import CliRunner

from stateaudit.cli import main
from stateaudit.progress import ScanProgress, progress_wanted


class Terminal(io.StringIO):
    """A stream that says it is a terminal, as a real tty would."""

    def isatty(self) -> bool:
        return True


def test_wanted_only_on_a_terminal_without_quiet_no_color_or_dumb_term():
    assert progress_wanted(False, Terminal(), {"TERM": "xterm-256color"})
    assert not progress_wanted(False, io.StringIO(), {"TERM": "xterm-256color"})
    assert not progress_wanted(True, Terminal(), {"TERM": "xterm-256color"})
    assert not progress_wanted(False, Terminal(), {"TERM": "xterm", "NO_COLOR": "1"})
    assert not progress_wanted(False, Terminal(), {"TERM": "dumb"})


def test_bar_shows_files_done_of_total_once_the_scan_outlasts_the_delay():
    stream = Terminal()
    with ScanProgress(True, stream, delay=0.0) as progress:
        progress.start(12)
        progress.advance(5)
        assert progress.shown
        drawn = stream.getvalue()
    assert "5/12" in drawn and "files" in drawn


def test_short_scans_and_disabled_bars_draw_nothing():
    for enabled, delay in ((True, 60.0), (False, 0.0)):
        stream = Terminal()
        with ScanProgress(enabled, stream, delay=delay) as progress:
            progress.start(3)
            progress.advance(3)
        assert stream.getvalue() == "" and not progress.shown and progress.done == 3


def test_scan_output_to_a_pipe_has_no_progress_bar():
    result = CliRunner().invoke(main, ["scan", "fixtures/aiponge", "--fail-on", "none", "--no-cache", "--format",
                                       "json"])
    assert result.exit_code == 0
    assert "scanning" not in result.stderr and result.stdout.lstrip().startswith("{")
