import type { Socket } from 'socket.io';

/** What this node holds of one session: its sockets here, and whether the node index already names it. */
export interface LocalEntry {
  sockets: Map<string, Socket>;
  /** The node-index entry for the token (written before any of its connections is registered). */
  tracked: Promise<void> | undefined;
  /** Sockets from the start of their registration to the end of their unregistration. */
  refs: number;
  data: unknown;
}

/** The seed's shape of a session held by this node. */
export interface LocalSession {
  token: string;
  connections: string[];
  data: unknown;
}

/** The sessions this node holds connections of (the only per-session state a node keeps in memory). */
export class LocalSessions {
  readonly #entries = new Map<string, LocalEntry>();

  get(token: string): LocalEntry | undefined {
    return this.#entries.get(token);
  }

  /** The entry of `token`, made when missing, with one more reference (a registration under way). */
  acquire(token: string, socket: Socket): LocalEntry {
    const entry = this.#entries.get(token) ?? { sockets: new Map(), tracked: undefined, refs: 0, data: null };
    this.#entries.set(token, entry);
    entry.sockets.set(socket.id, socket);
    entry.refs += 1;
    return entry;
  }

  /** Drops one reference; @returns true when the node holds nothing of the session any more. */
  release(token: string, entry: LocalEntry): boolean {
    entry.refs -= 1;
    if (entry.refs > 0) return false;
    this.#entries.delete(token);
    return true;
  }

  get size(): number {
    return this.#entries.size;
  }

  get connectionCount(): number {
    let n = 0;
    for (const entry of this.#entries.values()) n += entry.sockets.size;
    return n;
  }

  /** This node's sessions, in the seed's shape. */
  seedView(): LocalSession[] {
    return [...this.#entries].map(([token, entry]) => ({
      token,
      connections: [...entry.sockets.keys()],
      data: entry.data,
    }));
  }
}
