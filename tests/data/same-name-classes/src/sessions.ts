import { SessionStore } from "./cache/session-store";

// One store for the whole process, shared by every router that imports it.
export const sessions = new SessionStore();
