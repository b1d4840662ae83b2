"""Small realistic service files that the gate's tests put in their git repositories."""

from __future__ import annotations

REQUIREMENTS = "fastapi\nuvicorn\n"

# A FastAPI app that keeps logged-in sessions on app.state: one CRITICAL py.app-state finding.
SESSIONS_APP = '''from fastapi import FastAPI

app = FastAPI()


@app.on_event("startup")
async def start_sessions() -> None:
    app.state.sessions = {}


@app.post("/login")
async def login(token: str, user: str) -> dict:
    app.state.sessions[token] = user
    return {"ok": True}
'''

# The same app after a refactor: a docstring, an import and a health route moved the sessions down.
SESSIONS_APP_MOVED = '''"""Login endpoints of the accounts service."""

import logging

from fastapi import FastAPI

log = logging.getLogger(__name__)
app = FastAPI()


@app.get("/health")
async def health() -> dict:
    return {"status": "ok"}


@app.on_event("startup")
async def start_sessions() -> None:
    app.state.sessions = {}


@app.post("/login")
async def login(token: str, user: str) -> dict:
    log.info("login %s", user)
    app.state.sessions[token] = user
    return {"ok": True}
'''

# A second startup hook that repeats the accepted line: an identical copy of the accepted finding.
SESSIONS_APP_DUPLICATE = SESSIONS_APP + '''

@app.on_event("startup")
async def reset_sessions() -> None:
    app.state.sessions = {}
'''

# A new module with a process-local rate limiter: a finding the baseline has never seen.
RATE_LIMIT = '''import time

_hits: dict[str, list[float]] = {}


def allow(client_id: str, limit: int = 10) -> bool:
    now = time.time()
    window = [t for t in _hits.get(client_id, []) if now - t < 60]
    window.append(now)
    _hits[client_id] = window
    return len(window) <= limit
'''

# An Express service's task tracker; the registry that instantiates it lives in another file.
TRACKER_TS = '''export class TaskTracker {
  private readonly tasks = new Map<string, string>();

  start(id: string): void {
    this.tasks.set(id, 'running');
  }
}
'''

TRACKER_TS_WITH_FINISH = TRACKER_TS.replace('''  }
}
''', '''  }

  finish(id: string): void {
    this.tasks.delete(id);
  }
}
''')

REGISTRY_TS = '''import { TaskTracker } from './tracker';

export const tracker = new TaskTracker();
'''

METRICS_TS = '''const counters = new Map<string, number>();

export function count(name: string): number {
  return counters.get(name) ?? 0;
}
'''

METRICS_TS_WITH_HIT = METRICS_TS + '''
export function hit(name: string): void {
  counters.set(name, count(name) + 1);
}
'''

UPLOADS_TS = '''const uploads = new Map<string, Buffer[]>();

export function addChunk(id: string, chunk: Buffer): void {
  const parts = uploads.get(id) ?? [];
  parts.push(chunk);
  uploads.set(id, parts);
}
'''
