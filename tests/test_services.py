"""Stage 2: services are the nearest manifest folders; names and dependencies come from manifests."""

from __future__ import annotations

import json

from stateaudit.config import Config
from stateaudit.discover import discover_files
from stateaudit.services import detect_services

from .test_discover import make


def services_of(root):
    files = list(discover_files(root, Config()).files)
    return detect_services(root, files), files


def test_services_are_nearest_manifest_folders_named_from_package_json(tmp_path):
    make(tmp_path, {
        "package.json": json.dumps({"name": "platform", "private": True, "workspaces": ["services/*"]}),
        "services/gateway/package.json": json.dumps({"name": "@acme/api-gateway", "dependencies": {"ioredis": "5", "express": "4"}}),
        "services/gateway/src/index.ts": "",
        "services/worker/pyproject.toml": '[project]\nname = "render-worker"\ndependencies = ["fastapi>=0.100", "redis[hiredis]"]\n',
        "services/worker/worker/app.py": "",
        "services/legacy/requirements.txt": "Flask==3.0\n# comment\n-r base.txt\ncelery>=5\n",
        "services/legacy/app.py": "",
        "tools/build.ts": "",
    })
    smap, files = services_of(tmp_path)
    owners = {f.rel: smap.owner_of(f.rel).name for f in files}
    assert owners == {
        "services/gateway/src/index.ts": "api-gateway",
        "services/worker/worker/app.py": "render-worker",
        "services/legacy/app.py": "legacy",
        "tools/build.ts": "platform",
    }
    by_name = {s.name: s for s in smap.services}
    assert {"ioredis", "express"} <= by_name["api-gateway"].dependencies
    assert {"fastapi", "redis"} <= by_name["render-worker"].dependencies
    assert {"flask", "celery"} <= by_name["legacy"].dependencies


def test_services_fall_back_to_the_root_folder(tmp_path):
    make(tmp_path, {"src/a.ts": "", "lib/b.py": ""})
    smap, files = services_of(tmp_path)
    assert {smap.owner_of(f.rel).path for f in files} == {"."}
    assert [s.name for s in smap.services] == [tmp_path.name]


def test_services_tolerate_broken_manifests(tmp_path):
    make(tmp_path, {"svc/package.json": "{ not json", "svc/a.ts": "", "py/pyproject.toml": "[project\n", "py/a.py": ""})
    smap, files = services_of(tmp_path)
    assert {smap.owner_of(f.rel).name for f in files} == {"svc", "py"}


def test_manifests_are_found_as_the_file_system_has_them_whatever_folder_the_scan_starts_in(tmp_path, ruleset):
    """Discovery's own folder listings stand in for asking the file system: a manifest that is a symlink
    counts, as Path.is_file() counts it; a front-end package.json above a scanned subfolder (a folder the
    walk did not list) still makes its code browser code; the scan root's manifest still names it."""
    make(tmp_path, {
        "package.json": json.dumps({"name": "shop"}),
        "shared/package.json": json.dumps({"name": "@shop/api", "dependencies": {"express": "4"}}),
        "services/api/src/server.ts": "",
        "web/package.json": json.dumps({"name": "storefront", "dependencies": {"react": "18", "react-dom": "18"}}),
        "web/src/cart.ts": "",
    })
    (tmp_path / "services" / "api" / "package.json").symlink_to(tmp_path / "shared" / "package.json")
    whole = discover_files(tmp_path, Config(), None, ruleset.roles)
    assert [f.rel for f in whole.files] == ["services/api/src/server.ts"]
    assert whole.excluded == (("web/src/cart.ts", "browser"),)
    assert detect_services(tmp_path, list(whole.files), (), whole.manifests).owner_of(
        "services/api/src/server.ts").name == "api"
    from_below = discover_files(tmp_path, Config(), [tmp_path / "web" / "src"], ruleset.roles)
    assert from_below.files == () and from_below.excluded == (("web/src/cart.ts", "browser"),)
    below = discover_files(tmp_path, Config(), [tmp_path / "services" / "api" / "src"], ruleset.roles)
    services = detect_services(tmp_path, list(below.files), (), below.manifests)
    assert services.owner_of("services/api/src/server.ts").name == "api"
    assert [s.name for s in services.services] == ["api", "shop"]
