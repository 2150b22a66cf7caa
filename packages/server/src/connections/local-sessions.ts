import type { Socket } from 'socket.io';
import type { Sized } from '../protocol/sender.js';

/** What this node holds of one session: its sockets here, and where their pushes stand. */
export interface LocalEntry {
  token: string;
  sockets: Map<string, Socket>;
  /** Sockets from the start of their registration to the end of their unregistration. */
  refs: number;
  data: unknown;
  /** The session lifetime the sockets belong to. */
  sid: string | undefined;
  /** Lifetimes a routed logout ended (a socket still registering may turn out to belong to one). */
  ended: Set<string>;
  /**
   * Highest push sequence this node has handed to its sockets with nothing missing below it; -1 until the first
   * registration answered (pushes routed before wait in `waiting`).
   */
  seq: number;
  /** Routed pushes above `seq + 1`: they wait for the missing ones (or for the gap to be read from Redis). */
  waiting: Map<number, Sized>;
  /** A read of missing pushes is under way. */
  fetching: boolean;
  /** When the last routed push arrived (the resync leaves sessions alone whose pushes are still flowing). */
  heardAt: number;
  gapTimer: NodeJS.Timeout | undefined;
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
    let entry = this.#entries.get(token);
    if (!entry) {
      entry = {
        token,
        sockets: new Map(),
        refs: 0,
        data: null,
        sid: undefined,
        ended: new Set(),
        seq: -1,
        waiting: new Map(),
        fetching: false,
        heardAt: 0,
        gapTimer: undefined,
      };
      this.#entries.set(token, entry);
    }
    entry.sockets.set(socket.id, socket);
    entry.refs += 1;
    return entry;
  }

  /** Drops one reference; @returns true when the node holds nothing of the session any more. */
  release(token: string, entry: LocalEntry): boolean {
    entry.refs -= 1;
    if (entry.refs > 0) return false;
    clearTimeout(entry.gapTimer);
    this.#entries.delete(token);
    return true;
  }

  entries(): IterableIterator<LocalEntry> {
    return this.#entries.values();
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
