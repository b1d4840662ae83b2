"""Facts that need the whole service: who calls a registry's writers, writes through a singleton from
another file, and objects that live as long as the registry holding them. Real scans of small trees."""

from __future__ import annotations

from pathlib import Path

from stateaudit.config import Config
from stateaudit.scan import scan

REGISTRY = """\
export class HookRegistry {
  private static hooks = new Map<string, Array<() => Promise<void>>>();

  static add(name: string, hook: () => Promise<void>): void {
    this.register(name, hook);
  }

  private static register(name: string, hook: () => Promise<void>): void {
    const list = HookRegistry.hooks.get(name) ?? [];
    list.push(hook);
    HookRegistry.hooks.set(name, list);
  }
}
"""
BOOT = """\
import { HookRegistry } from './registry';
import { flushMetrics, closeDb } from './lifecycle';

HookRegistry.add('shutdown', flushMetrics);

export async function bootstrap(): Promise<void> {
  HookRegistry.add('shutdown', closeDb);
}
"""
HANDLER = """\
import express from 'express';
import { HookRegistry } from './registry';

export const router = express.Router();
router.post('/hooks/:name', (req, res) => {
  HookRegistry.add(req.params.name, async () => undefined);
  res.status(201).end();
});
"""

SERVER = """\
class AppServer {
  static instance = null;
  onlineUsers = {};

  static getInstance() {
    if (AppServer.instance == null) {
      AppServer.instance = new AppServer();
    }
    return AppServer.instance;
  }
}
module.exports = { AppServer };
"""
SOCKETS = """\
const { AppServer } = require('./server');
const server = AppServer.getInstance();

function onConnect(socket) {
  server.onlineUsers[socket.id] = socket.userId;
  socket.on('disconnect', () => { delete server.onlineUsers[socket.id]; });
}
module.exports = { onConnect };
"""

WINDOW = """\
export class LatencyWindow {
  private samples: number[] = [];
  add(ms: number): void { this.samples.push(ms); if (this.samples.length > 100) this.samples.shift(); }
}
"""
KEPT = """\
import { LatencyWindow } from './window';
const windows = new Map<string, LatencyWindow>();
export function observe(req: { route: string }, ms: number): void {
  let w = windows.get(req.route);
  if (!w) {
    w = new LatencyWindow();
    windows.set(req.route, w);
  }
  w.add(ms);
}
"""
PER_CALL = """\
import { LatencyWindow } from './window';
export function median(req: { samples: number[] }): number {
  const w = new LatencyWindow();
  req.samples.forEach((s) => w.add(s));
  return 0;
}
"""


def _findings(root: Path, files: dict[str, str], ruleset) -> dict[tuple[str, str], object]:
    (root / "package.json").write_text('{"name": "svc"}')
    for name, text in files.items():
        (root / name).write_text(text)
    report = scan(root, Config(), ruleset).report
    return {(f.location.path, f.symbol): f for f in report.findings}


def test_static_registry_filled_only_at_boot_is_not_state(tmp_path, ruleset):
    found = _findings(tmp_path, {"registry.ts": REGISTRY, "boot.ts": BOOT}, ruleset)
    assert ("registry.ts", "HookRegistry.hooks") not in found


def test_static_registry_filled_from_a_handler_is_state(tmp_path, ruleset):
    found = _findings(tmp_path, {"registry.ts": REGISTRY, "boot.ts": BOOT, "routes.ts": HANDLER}, ruleset)
    assert found[("registry.ts", "HookRegistry.hooks")].rule_id == "ts.static-collection"


def test_field_written_through_the_singleton_in_another_file_is_state(tmp_path, ruleset):
    found = _findings(tmp_path, {"server.js": SERVER, "sockets.js": SOCKETS}, ruleset)
    assert found[("server.js", "AppServer.onlineUsers")].rule_id == "ts.instance-collection"


def test_field_never_written_after_start_up_is_not_state(tmp_path, ruleset):
    found = _findings(tmp_path, {"server.js": SERVER}, ruleset)
    assert ("server.js", "AppServer.onlineUsers") not in found


def test_object_kept_in_a_module_registry_lives_as_long_as_the_registry(tmp_path, ruleset):
    found = _findings(tmp_path, {"window.ts": WINDOW, "kept.ts": KEPT}, ruleset)
    finding = found[("window.ts", "LatencyWindow.samples")]
    assert any("registry" in reason for reason in finding.reasons)


def test_object_made_per_call_and_dropped_is_not_state(tmp_path, ruleset):
    found = _findings(tmp_path, {"window.ts": WINDOW, "per_call.ts": PER_CALL}, ruleset)
    assert ("window.ts", "LatencyWindow.samples") not in found
