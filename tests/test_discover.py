"""Stage 1: which files are scanned, on real trees in tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest

from stateaudit.config import Config
from stateaudit.discover import discover_files, is_test_path


def make(root: Path, files: dict[str, str | bytes]) -> None:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")


def rels(root: Path, config: Config | None = None) -> list[str]:
    return [f.rel for f in discover_files(root, config or Config()).files]


def test_discover_finds_each_language_by_extension(tmp_path):
    make(tmp_path, {"a.ts": "", "b.tsx": "", "c.js": "", "d.mjs": "", "e.cjs": "", "f.py": "", "g.mts": "",
                    "notes.md": "", "data.json": "{}"})
    found = {f.rel: f.language for f in discover_files(tmp_path, Config()).files}
    assert found == {"a.ts": "typescript", "b.tsx": "tsx", "c.js": "javascript", "d.mjs": "javascript",
                     "e.cjs": "javascript", "f.py": "python", "g.mts": "typescript"}


def test_discover_skips_dependency_and_build_folders(tmp_path):
    make(tmp_path, {"src/app.ts": "", "node_modules/x/index.js": "", "dist/app.js": "", "build/a.js": "",
                    "coverage/lcov.js": "", ".venv/lib/x.py": "", "venv/lib/y.py": "", "src/__pycache__/z.py": "",
                    "types/index.d.ts": "", "public/vendor.min.js": ""})
    assert rels(tmp_path) == ["src/app.ts"]


def test_discover_honours_nested_gitignore(tmp_path):
    make(tmp_path, {".gitignore": "generated/\n*.gen.ts\n", "src/a.ts": "", "src/b.gen.ts": "",
                    "generated/c.ts": "", "svc/.gitignore": "legacy.ts\n!keep.gen.ts\n", "svc/legacy.ts": "",
                    "svc/keep.gen.ts": "", "svc/ok.ts": ""})
    assert rels(tmp_path) == ["src/a.ts", "svc/keep.gen.ts", "svc/ok.ts"]


def test_discover_gitignore_applies_when_scanning_a_subfolder(tmp_path):
    make(tmp_path, {".gitignore": "*.gen.ts\n", "svc/a.ts": "", "svc/b.gen.ts": ""})
    found = discover_files(tmp_path, Config(), [tmp_path / "svc"]).files
    assert [f.rel for f in found] == ["svc/a.ts"]


def test_discover_skips_tests_unless_asked(tmp_path):
    make(tmp_path, {"src/a.ts": "", "src/a.spec.ts": "", "src/b.test.js": "", "tests/test_x.py": "",
                    "app/x_test.py": "", "src/__tests__/y.ts": ""})
    assert rels(tmp_path) == ["src/a.ts"]
    assert len(rels(tmp_path, Config(include_tests=True))) == 6


def test_discover_applies_exclude_globs(tmp_path):
    make(tmp_path, {"src/a.ts": "", "src/legacy/b.ts": "", "scripts/c.py": ""})
    assert rels(tmp_path, Config(exclude=("src/legacy/", "scripts/*.py"))) == ["src/a.ts"]


def test_discover_reports_minified_files_instead_of_parsing_them(tmp_path):
    make(tmp_path, {"src/a.js": "var a=1;" * 1000, "src/b.js": "const b = 1;\n"})
    result = discover_files(tmp_path, Config())
    assert [f.rel for f in result.files] == ["src/b.js"]
    assert result.skipped and result.skipped[0][0] == "src/a.js"


@pytest.mark.parametrize("rel, expected", [
    ("src/app.ts", False), ("src/app.spec.ts", True), ("src/app.test.tsx", True), ("test/x.ts", True),
    ("tests/conftest.py", True), ("pkg/test_api.py", True), ("pkg/api_test.py", True),
    ("src/testing_utils.ts", False), ("src/contest.py", False),
])
def test_is_test_path_recognises_test_files(rel, expected):
    assert is_test_path(rel) is expected
