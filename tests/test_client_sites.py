"""Where a TypeScript file uses a client: imported names and types, injecting decorators, and `this.x` named
like one. A file that imports no client is looked at for its members and decorators only; what it uses
must be the same as if every name had been looked up."""

from __future__ import annotations

from stateaudit.facts import facts_module
from stateaudit.syntax import parse_source, release_index

NO_CLIENT_IMPORTED = b"""import { Injectable } from '@nestjs/common';
import { InjectQueue } from '@nestjs/bull';

@Injectable()
export class Presence {
  private online = new Map<string, number>();
  constructor(private readonly redis: any, @InjectQueue('mail') private readonly mail: any) {}
  seen(user: string) {
    const Redis = 'not a client here';  // a name that would be one, if the file imported it
    this.online.set(user, Date.now());
    return this.redis.set(`seen:${user}`, Redis);
  }
}
"""

CLIENT_IMPORTED = b"""import Redis from 'ioredis';

export class Presence {
  private readonly store: Redis = new Redis(process.env.REDIS_URL!);
  private online = new Map<string, number>();
  seen(user: string) {
    this.online.set(user, Date.now());
    return this.store.set(`seen:${user}`, '1');
  }
}
"""


def _uses(source: bytes) -> list[tuple[str, tuple | None, str | None]]:
    release_index()
    parsed = parse_source(source, "typescript")
    analysis = facts_module("typescript").analyse(parsed)
    starts, sites = analysis.client_sites
    return [(source[start:end].decode(), ref, member) for start, (end, ref, member) in zip(starts, sites, strict=True)]


def test_without_a_client_import_members_and_decorators_still_count():
    uses = _uses(NO_CLIENT_IMPORTED)
    assert ("this.redis", ("redis", "redis", False), "redis") in uses
    assert any(text.startswith("@InjectQueue") and ref is not None and ref[0] == "queue" for text, ref, _m in uses)
    assert ("this.online", None, "online") in uses
    assert all(not text.startswith("Redis") for text, _r, _m in uses)  # a local string, not an import


def test_with_a_client_import_its_names_and_types_count():
    uses = _uses(CLIENT_IMPORTED)
    assert [text for text, ref, _m in uses if ref is not None and ref[0] == "redis" and ref[1] == "Redis"] == \
        ["Redis", "Redis", "Redis"]  # the import, the field's type and the constructor
    assert ("this.store", None, "store") in uses
