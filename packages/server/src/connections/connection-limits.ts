import type { IncomingHttpHeaders } from 'node:http';

export interface ConnectionLimitOptions {
  /** Connections this node holds at most; 0: no limit. */
  maxConnections: number;
  /** Connections from one client address on this node; 0: no limit. */
  maxConnectionsPerIp: number;
  /** Connections of one session token on this node; 0: no limit. */
  maxConnectionsPerToken: number;
  /** Take the client address from `x-forwarded-for` (first entry) instead of the socket. */
  trustProxy: boolean;
}

/** One connection's place in the counts, from its handshake to its close. */
export interface ConnectionSlot {
  /** Counts the connection for its session token. @returns false (counting nothing) when that token is full. */
  claimToken(token: string): boolean;
  /** Gives every count back; once. */
  release(): void;
}

/**
 * Connection limits of one node (not the cluster: counts are local, so a client may hold the per-token limit on
 * each node). A handshake takes a slot before authentication (node and address: the cheap checks protect the
 * JWT verification too) and claims its token after it; the slot is released when the connection closes or its
 * handshake fails.
 */
export class ConnectionLimits {
  #total = 0;
  readonly #byAddress = new Counts();
  readonly #byToken = new Counts();

  constructor(readonly options: ConnectionLimitOptions) {}

  /** Connections counted now (handshakes in progress included). */
  get size(): number {
    return this.#total;
  }

  /** The client address of a handshake: the socket's, or with `trustProxy` the first `x-forwarded-for` entry. */
  addressOf(handshake: { address: string; headers: IncomingHttpHeaders }): string {
    const forwarded = handshake.headers['x-forwarded-for'];
    const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0]?.trim();
    return this.options.trustProxy && first ? first : handshake.address;
  }

  /** A slot for a new connection from `address`, or undefined when the node or that address is full. */
  take(address: string): ConnectionSlot | undefined {
    const { maxConnections, maxConnectionsPerIp, maxConnectionsPerToken } = this.options;
    if (maxConnections > 0 && this.#total >= maxConnections) return undefined;
    if (!this.#byAddress.take(address, maxConnectionsPerIp)) return undefined;
    this.#total += 1;
    let token: string | undefined;
    let released = false;
    return {
      claimToken: (claimed) => {
        if (token !== undefined || !this.#byToken.take(claimed, maxConnectionsPerToken)) return false;
        token = claimed;
        return true;
      },
      release: () => {
        if (released) return;
        released = true;
        this.#total -= 1;
        this.#byAddress.give(address, maxConnectionsPerIp);
        if (token !== undefined) this.#byToken.give(token, maxConnectionsPerToken);
      },
    };
  }
}

/** Counts per key, kept only while a key has some and only when there is a limit. */
class Counts {
  readonly #counts = new Map<string, number>();

  take(key: string, max: number): boolean {
    if (max <= 0) return true;
    const n = this.#counts.get(key) ?? 0;
    if (n >= max) return false;
    this.#counts.set(key, n + 1);
    return true;
  }

  give(key: string, max: number): void {
    if (max <= 0) return;
    const n = (this.#counts.get(key) ?? 1) - 1;
    if (n > 0) this.#counts.set(key, n);
    else this.#counts.delete(key);
  }
}
