// The old session store of the v1 API: it only formats keys and keeps nothing itself.
export class SessionStore {
  constructor(private readonly prefix = "sess:") {}

  key(token: string): string {
    return `${this.prefix}${token}`;
  }
}
