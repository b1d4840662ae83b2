import { EventEmitter } from "events";
import * as fs from "fs";
import { appendFile } from "fs/promises";
import { LRUCache } from "lru-cache";

interface Session {
  id: string;
  userId: string;
  expiresAt: number;
}

const sessions = new Map<string, Session>();
const allowedOrigins = ["https://shop.example", "https://admin.example"];
const defaults = { ttlMs: 30 * 60 * 1000, sweepEveryMs: 60 * 1000 };
const PORT = Number(process.env.PORT ?? 8080);
const revoked = new WeakSet<object>();
let requestCount = 0;
let lastError: Error | undefined;
let pendingWrites = new Set<string>();
var legacyFlags = {};

export const tokenCache = new LRUCache<string, string>({ max: 500 });
export const routes: string[] = [];
export let exportedCounter = 0;
export const VERSION = "1.4.2";

export class SessionStore {
  private static instance: SessionStore;
  static _instance?: SessionStore;
  instance = "not a singleton field";
  private entries: Session[] = [];
  private byUser = {};
  private readonly byId = new Map<string, Session>();
  private events = new EventEmitter();
  private ttlMs = defaults.ttlMs;
  private sweeper?: NodeJS.Timeout;

  static getInstance(): SessionStore {
    if (!SessionStore.instance) {
      SessionStore.instance = new SessionStore();
    }
    return SessionStore.instance;
  }

  start(): void {
    this.sweeper = setInterval(() => this.sweep(), defaults.sweepEveryMs);
    setImmediate(() => this.events.emit("ready"));
  }

  put(session: Session): void {
    const seen = new Set<string>();
    let attempts = [];
    this.byId.set(session.id, session);
    this.entries.push(session);
    seen.add(session.id);
    attempts.push(Date.now());
    requestCount += 1;
  }

  sweep(): void {
    const now = Date.now();
    for (const [id, session] of this.byId) {
      if (session.expiresAt < now) {
        this.byId.delete(id);
        sessions.delete(id);
      }
    }
    fs.writeFileSync("/var/run/sessions.json", JSON.stringify([...this.byId.values()]));
  }
}

export function audit(line: string): void {
  const buffered = { line, at: Date.now() };
  global.lastAuditLine = line;
  globalThis.auditCount = (globalThis.auditCount ?? 0) + 1;
  pendingWrites.add(line);
  void appendFile("/var/log/audit.log", JSON.stringify(buffered) + "\n");
  window.setTimeout(() => pendingWrites.delete(line), 1000);
}

export const flushLater = (): void => {
  const stream = fs.createWriteStream("/var/log/flush.log", { flags: "a" });
  stream.end();
  pendingWrites = new Set<string>();
};

if (process.env.DEBUG_SESSIONS) {
  const debugLog = [];
  let debugCount = 0;
  debugLog.push(debugCount);
}
