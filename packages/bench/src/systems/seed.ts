import { freePort, type ProcessGroup } from '@io-session/devtools';
import type { LoadHooks, LoadSpec } from '../load/pacer.js';
import type { SessionSystem } from './system.js';
import { TargetChild } from './target-child.js';

/**
 * Baseline (2): io-session-handler@1.0.74 in one process; its pushes are in-process calls, so the load
 * generator runs inside that process (at most 100 pushes per event-loop turn, so acks keep flowing).
 */
export class SeedSystem implements SessionSystem {
  readonly name = 'seed';
  readonly clientMode = 'legacy';
  readonly usesRedis = false;
  readonly setup =
    'io-session-handler@1.0.74 from npm on one Socket.IO 4 process (it has no cluster mode); pushes via its ' +
    'pushMessage from a load generator inside that process; clients ack with push_message_delivery → onMessageDelivered.';
  urls: string[] = [];
  pids: number[] = [];
  #node: TargetChild | undefined;

  constructor(private readonly group: ProcessGroup) {}

  async start(): Promise<void> {
    const port = await freePort();
    this.#node = TargetChild.fork(this.group, 'seed-node', 'seed-node', { port });
    await this.#node.ready;
    this.urls = [`http://127.0.0.1:${port}`];
    this.pids = [this.#node.child.pid];
  }

  runLoad(spec: LoadSpec, hooks?: LoadHooks) {
    if (!this.#node) throw new Error('io-session-handler is not started');
    return this.#node.runLoad({ ...spec, maxPerTurn: 100 }, hooks);
  }

  async settle(): Promise<void> {}

  async stop(): Promise<void> {
    if (this.#node) await this.group.stop(this.#node.child);
  }
}
