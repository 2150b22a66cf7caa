import { freePort, type ProcessGroup } from '@io-session/devtools';
import { Emitter } from '@socket.io/redis-emitter';
import { Redis } from 'ioredis';
import { runLoad, type LoadHooks, type LoadSpec } from '../load/pacer.js';
import type { SessionSystem } from './system.js';
import { TargetChild } from './target-child.js';

/**
 * Baseline (1): two bare Socket.IO node processes on the classic Redis adapter; the bench emits each push
 * with `@socket.io/redis-emitter` to the token's room and counts the acknowledgements the nodes report.
 */
export class BareSystem implements SessionSystem {
  readonly name = 'bare';
  readonly clientMode = 'legacy';
  readonly usesRedis = true;
  readonly setup =
    'two Socket.IO 4 node processes with the classic @socket.io/redis-adapter (createAdapter), a room per ' +
    "token; pushes emitted by the bench with @socket.io/redis-emitter (auto-pipelined); clients ack with the seed's " +
    'push_message_delivery, counted by the nodes. No session state, no storage, no receipts.';
  urls: string[] = [];
  pids: number[] = [];
  readonly #nodes: TargetChild[] = [];
  #redis: Redis | undefined;
  #emitter: Emitter | undefined;

  constructor(
    private readonly group: ProcessGroup,
    private readonly redisUrl: string,
  ) {}

  async start(): Promise<void> {
    for (let i = 1; i <= 2; i++) {
      const port = await freePort();
      const node = TargetChild.fork(this.group, `bare-node-${i}`, 'bare-node', {
        redisUrl: this.redisUrl,
        port,
        name: `bare-node-${i}`,
      });
      this.#nodes.push(node);
      this.urls.push(`http://127.0.0.1:${port}`);
      this.pids.push(node.child.pid);
    }
    await Promise.all(this.#nodes.map((n) => n.ready));
    this.#redis = new Redis(this.redisUrl, { connectionName: 'bench-emitter', enableAutoPipelining: true });
    this.#redis.on('error', () => undefined);
    this.#emitter = new Emitter(this.#redis);
  }

  #delivered(): number {
    let total = 0;
    for (const node of this.#nodes) total += node.delivered;
    return total;
  }

  runLoad(spec: LoadSpec, hooks?: LoadHooks) {
    const emitter = this.#emitter;
    if (!emitter) throw new Error('bare Socket.IO is not started');
    return runLoad(
      {
        send: (items) => {
          for (const item of items) emitter.to(item.token).emit('push_message', item.data);
        },
        delivered: () => this.#delivered(),
      },
      spec,
      hooks,
    );
  }

  async settle(): Promise<void> {}

  async stop(): Promise<void> {
    this.#redis?.disconnect();
    await Promise.all(this.#nodes.map((n) => this.group.stop(n.child)));
  }
}
