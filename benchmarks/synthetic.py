"""A synthetic TypeScript monorepo for speed measurements that any machine (and CI) can build.

Every service is a folder with a package.json and files of five shapes, written here from templates:
a class holding a Map it writes (state), an Express router that appends to a module array (state),
a module-level interval timer (state), a service that keeps its data in Redis (shared, not state),
and plain helper modules (no state) that make up most of the lines, as in real code.
Sizes scale by the number of services; content is deterministic for a given seed. With --one-service the
same folders hold no package.json of their own and one at the top makes them a single service, the shape
whose join needs the most memory (one service index for every file).

    python benchmarks/synthetic.py OUT_DIR --kloc 200 [--one-service]
"""

from __future__ import annotations

import argparse
import json
import random
from dataclasses import dataclass
from pathlib import Path

NOUNS = ("order", "invoice", "cart", "payment", "ticket", "session", "profile", "report", "shipment",
         "coupon", "review", "catalog", "message", "device", "upload", "quota", "plan", "audit")
HELPERS_PER_FILE = (6, 14)


@dataclass(frozen=True)
class Planted:
    """What the generator put in, so a test can check a scan finds exactly that."""

    services: int
    files: int
    lines: int
    stateful: dict[str, int]  # rule id -> how many were planted


def _helper(rng: random.Random, noun: str, i: int) -> str:
    field = rng.choice(("id", "total", "createdAt", "status", "ownerId"))
    return f'''
export function {noun}{i}Summary(items: Array<{{ {field}: string | number; weight?: number }}>): string {{
  const parts: string[] = [];
  let weight = 0;
  for (const item of items) {{
    weight += item.weight ?? 1;
    parts.push(String(item.{field}).padStart({rng.randint(2, 9)}, "0"));
  }}
  if (parts.length === 0) {{
    return "{noun}: none";
  }}
  return `{noun} ${{parts.join(",")}} weighing ${{weight.toFixed({rng.randint(0, 3)})}}`;
}}
'''


def _helpers(rng: random.Random, noun: str) -> str:
    count = rng.randint(*HELPERS_PER_FILE)
    return "".join(_helper(rng, noun, i) for i in range(count))


def _cache_class(rng: random.Random, noun: str) -> str:
    cls = noun.capitalize() + "Cache"
    return f'''import {{ Injectable }} from "@nestjs/common";

export interface {noun.capitalize()}Entry {{
  id: string;
  value: number;
  storedAt: number;
}}

@Injectable()
export class {cls} {{
  private readonly entries = new Map<string, {noun.capitalize()}Entry>();

  remember(id: string, value: number): void {{
    this.entries.set(id, {{ id, value, storedAt: Date.now() }});
  }}

  recall(id: string): {noun.capitalize()}Entry | undefined {{
    return this.entries.get(id);
  }}

  forget(id: string): void {{
    this.entries.delete(id);
  }}
}}
{_helpers(rng, noun)}'''


def _router(rng: random.Random, noun: str) -> str:
    return f'''import {{ Router }} from "express";

const recent{noun.capitalize()}Ids: string[] = [];

export const {noun}Router = Router();

{noun}Router.post("/{noun}s/:id", (req, res) => {{
  recent{noun.capitalize()}Ids.push(req.params.id);
  res.status(202).json({{ accepted: req.params.id, queued: recent{noun.capitalize()}Ids.length }});
}});

{noun}Router.get("/{noun}s", (_req, res) => {{
  res.json({{ recent: recent{noun.capitalize()}Ids.slice(-{rng.randint(5, 50)}) }});
}});
{_helpers(rng, noun)}'''


def _timer(rng: random.Random, noun: str) -> str:
    return f'''const pending{noun.capitalize()}s = new Set<string>();

export function track{noun.capitalize()}(id: string): void {{
  pending{noun.capitalize()}s.add(id);
}}

setInterval(() => {{
  for (const id of pending{noun.capitalize()}s) {{
    pending{noun.capitalize()}s.delete(id);
  }}
}}, {rng.randint(1, 60)} * 1000);
{_helpers(rng, noun)}'''


def _redis_service(rng: random.Random, noun: str) -> str:
    cls = noun.capitalize() + "Store"
    return f'''import Redis from "ioredis";

export class {cls} {{
  constructor(private readonly redis: Redis) {{}}

  async save(id: string, payload: object): Promise<void> {{
    await this.redis.set(`{noun}:${{id}}`, JSON.stringify(payload), "EX", {rng.randint(60, 3600)});
  }}

  async load(id: string): Promise<object | null> {{
    const raw = await this.redis.get(`{noun}:${{id}}`);
    return raw ? JSON.parse(raw) : null;
  }}
}}
{_helpers(rng, noun)}'''


def _plain(rng: random.Random, noun: str) -> str:
    return f'''export const {noun.upper()}_LIMITS = Object.freeze({{ max: {rng.randint(10, 999)}, min: 1 }});
{_helpers(rng, noun)}'''


# What each shape holds: the Set a timer drains is module state too; the Redis store is state kept shared.
PLANTED = {"cache": ("ts.instance-collection",), "routes": ("ts.module-collection",),
           "jobs": ("ts.interval-timer", "ts.module-collection"), "stores": ("ts.client-backed-store",)}
SHAPES = (("cache", _cache_class), ("routes", _router), ("jobs", _timer), ("stores", _redis_service),
          ("lib", _plain), ("lib", _plain), ("lib", _plain))


def generate(target: Path, kloc: int, seed: int = 0, one_service: bool = False) -> Planted:
    """Write services into `target` until about `kloc` thousand lines exist (as one service if `one_service`)."""
    rng = random.Random(seed)
    target.mkdir(parents=True, exist_ok=True)
    if one_service:
        _write_package(target, "@synthetic/monolith")
    lines = files = services = 0
    planted = {"ts.instance-collection": 0, "ts.module-collection": 0, "ts.interval-timer": 0,
               "ts.client-backed-store": 0}
    while lines < kloc * 1000:
        name = f"svc-{services:04d}"
        root = target / "packages" / name
        (root / "src").mkdir(parents=True, exist_ok=True)
        if not one_service:
            _write_package(root, f"@synthetic/{name}")
        for index, noun in enumerate(rng.sample(NOUNS, 7)):
            folder, template = SHAPES[index]
            text = template(rng, noun)
            path = root / "src" / folder / f"{noun}-{folder}.ts"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            lines += text.count("\n")
            files += 1
            for rule in PLANTED.get(folder, ()):
                planted[rule] += 1
        services += 1
    return Planted(1 if one_service else services, files, lines, planted)


def _write_package(folder: Path, name: str) -> None:
    package = {"name": name, "version": "1.0.0",
               "dependencies": {"express": "^4.19.0", "ioredis": "^5.4.0", "@nestjs/common": "^10.0.0"}}
    (folder / "package.json").write_text(json.dumps(package, indent=2) + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target", type=Path)
    parser.add_argument("--kloc", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--one-service", action="store_true", help="One package.json at the top: one service.")
    args = parser.parse_args()
    planted = generate(args.target, args.kloc, args.seed, args.one_service)
    print(json.dumps(planted.__dict__))


if __name__ == "__main__":
    main()
