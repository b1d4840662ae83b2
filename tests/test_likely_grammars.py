"""Which grammars a cold scan compiles beside discovery, before the walk says which the files use."""

from __future__ import annotations

from pathlib import Path

from stateaudit.scan import _COMPILE_ORDER, PEEK_FOLDERS, _likely_grammars

NODE = ("javascript", "typescript", "tsx")


def _file(path: Path, text: str = "") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_the_roots_manifests_decide(tmp_path):
    _file(tmp_path / "pyproject.toml")
    _file(tmp_path / "services" / "web" / "package.json", "{}")  # deeper: the root's say first
    assert _likely_grammars(tmp_path) == ("python",)


def test_manifests_a_level_or_two_down_decide_when_the_root_has_none(tmp_path):
    for name in ("svc-a", "svc-b"):
        _file(tmp_path / "packages" / name / "package.json", "{}")
        _file(tmp_path / "packages" / name / "src" / "index.ts", "export const a = 1;\n")
    assert _likely_grammars(tmp_path) == NODE
    _file(tmp_path / "tools" / "setup.py")  # the shallowest level with a manifest wins: tools/ is level 1
    assert _likely_grammars(tmp_path) == ("python",)


def test_dependency_and_hidden_folders_are_not_looked_in(tmp_path):
    _file(tmp_path / "node_modules" / "left-pad" / "package.json", "{}")
    _file(tmp_path / ".venv" / "lib" / "setup.py")
    _file(tmp_path / "src" / "app.py", "x = 1\n")
    assert _likely_grammars(tmp_path) == _COMPILE_ORDER  # nothing found: every grammar, cheapest first


def test_the_look_is_bounded(tmp_path):
    for number in range(PEEK_FOLDERS + 5):  # more folders than are listed, each with its manifest below
        _file(tmp_path / f"d{number:03}" / "inner" / "package.json", "{}")
    assert _likely_grammars(tmp_path) == _COMPILE_ORDER
    assert _likely_grammars(tmp_path / "missing") == _COMPILE_ORDER


def test_manifests_of_both_families_keep_the_family_whose_files_are_seen(tmp_path):
    _file(tmp_path / "package.json", "{}")  # tooling beside a Python service, as saleor's
    _file(tmp_path / "pyproject.toml")
    _file(tmp_path / "shop" / "models.py", "x = 1\n")
    assert _likely_grammars(tmp_path) == ("python",)
    _file(tmp_path / "web" / "app.ts", "export const a = 1;\n")
    assert _likely_grammars(tmp_path) == ("python", *NODE)  # both seen: both guessed, cheapest first
