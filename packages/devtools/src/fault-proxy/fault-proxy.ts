import { createServer, type Server, type Socket } from 'node:net';
import { freePort } from '../ports.js';
import { ProxyLink, type LinkControl } from './proxy-link.js';
import type { RespCommand } from './resp.js';

/**
 * How a partition treats the partitioned node: `hold` lets nothing through in either direction until it
 * heals (bytes wait, connections stay open, as packets lost on a network do); `refuse` cuts every connection
 * and resets each new one at once (a firewall that rejects).
 */
export type PartitionMode = 'hold' | 'refuse';

export interface FaultProxyOptions {
  /** The Redis to forward to. */
  target: { host?: string; port: number };
  /** Port to listen on (127.0.0.1); a free one by default. */
  port?: number;
}

/** What a proxy did so far. */
export interface FaultProxyStats {
  /** Client connections accepted (refused ones included). */
  connections: number;
  /** Client connections open now. */
  open: number;
  /** Commands seen from clients. */
  commands: number;
  /** Replies dropped after their command ran (each one cut its connection). */
  repliesDropped: number;
  /** Connections cut by `cut()` or by a `refuse` partition. */
  cut: number;
  /** Connections reset at once because a `refuse` partition was in force. */
  refused: number;
}

/** Chooses the commands whose reply may be dropped; every command that is not pub/sub by default. */
export type DropMatcher = (command: RespCommand) => boolean;

/**
 * A TCP proxy between one client (a node) and Redis that injects faults on demand, controlled in-process:
 * latency, cut connections, replies dropped after their command ran, a partition (hold or refuse).
 *
 * ```ts
 * const proxy = await FaultProxy.start({ target: { port: redis.port } });
 * startNode({ redisUrl: proxy.url });
 * proxy.dropReplies(1, (c) => c.name === 'EVALSHA');   // the next script call runs, its reply is lost
 * proxy.partition('hold'); … proxy.heal();
 * ```
 */
export class FaultProxy {
  readonly #server: Server;
  readonly #target: { host: string; port: number };
  readonly #links = new Set<ProxyLink>();
  readonly #stats: FaultProxyStats = {
    connections: 0,
    open: 0,
    commands: 0,
    repliesDropped: 0,
    cut: 0,
    refused: 0,
  };
  #latencyMs = 0;
  #partition: PartitionMode | undefined;
  #drops: { left: number; match: DropMatcher } | undefined;

  private constructor(
    server: Server,
    target: { host: string; port: number },
    readonly port: number,
  ) {
    this.#server = server;
    this.#target = target;
    server.on('connection', (socket) => this.#accept(socket));
  }

  /** Starts listening on 127.0.0.1; resolves once it accepts connections. */
  static async start(options: FaultProxyOptions): Promise<FaultProxy> {
    const port = options.port ?? (await freePort());
    const server = createServer({ noDelay: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    return new FaultProxy(
      server,
      { host: options.target.host ?? '127.0.0.1', port: options.target.port },
      port,
    );
  }

  /** `redis://127.0.0.1:<port>`: what the node is given as REDIS_URL. */
  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Delay added to every chunk, in each direction (order is kept). 0 = none. */
  setLatency(ms: number): void {
    this.#latencyMs = Math.max(0, ms);
  }

  /** Cuts every open connection now; resolves with how many. */
  cut(): number {
    const links = [...this.#links];
    for (const link of links) link.close();
    this.#stats.cut += links.length;
    return links.length;
  }

  /**
   * Arms `count` dropped replies: each of the next matching commands (on any connection that is not in pub/sub
   * mode) is sent to Redis alone, runs, and its reply is thrown away as its connection is cut.
   */
  dropReplies(count = 1, match: DropMatcher = () => true): void {
    this.#drops = { left: count, match };
  }

  /** Drops not used yet. */
  get dropsArmed(): number {
    return this.#drops?.left ?? 0;
  }

  partition(mode: PartitionMode): void {
    this.#partition = mode;
    if (mode === 'refuse') this.cut();
  }

  /** Ends a partition: held bytes flow again, new connections are forwarded. */
  heal(): void {
    this.#partition = undefined;
    for (const link of this.#links) link.flush();
  }

  get partitioned(): PartitionMode | undefined {
    return this.#partition;
  }

  stats(): FaultProxyStats {
    return { ...this.#stats, open: this.#links.size };
  }

  /** Cuts every connection and stops listening. */
  async close(): Promise<void> {
    for (const link of [...this.#links]) link.close();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(socket: Socket): void {
    this.#stats.connections++;
    if (this.#partition === 'refuse') {
      this.#stats.refused++;
      socket.on('error', () => undefined);
      socket.resetAndDestroy();
      return;
    }
    this.#links.add(new ProxyLink(socket, this.#target, this.#control()));
  }

  #control(): LinkControl {
    return {
      latencyMs: () => this.#latencyMs,
      held: () => this.#partition === 'hold',
      takeDrop: (command) => {
        const drops = this.#drops;
        if (!drops || drops.left <= 0 || !drops.match(command)) return false;
        drops.left--;
        return true;
      },
      dropped: () => this.#stats.repliesDropped++,
      commandSeen: () => this.#stats.commands++,
      closed: (link) => this.#links.delete(link),
    };
  }
}
