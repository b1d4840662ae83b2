// In-memory sessions: a Map written on every login, so one replica's logins are unknown to the others.
export interface Session {
  userId: string;
  expiresAt: number;
}

export class SessionStore {
  private sessions = new Map<string, Session>();

  open(token: string, userId: string, ttlMs: number): void {
    this.sessions.set(token, { userId, expiresAt: Date.now() + ttlMs });
  }

  find(token: string): Session | undefined {
    const session = this.sessions.get(token);
    return session && session.expiresAt > Date.now() ? session : undefined;
  }

  close(token: string): void {
    this.sessions.delete(token);
  }
}
