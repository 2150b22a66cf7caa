import { Queue } from 'bullmq';
import type { Cluster, Redis } from 'ioredis';
import type { ProcessGroup } from '@io-session/devtools';
import { benchConnection, type PrivateRedis } from '../harness/redis-server.js';
import { runLoad, type LoadHooks, type LoadSpec } from '../load/pacer.js';
import { TargetChild } from './target-child.js';

const QUEUE = 'floor';
const PREFIX = '{benchfloor}';
const CONCURRENCY = 100;

/**
 * Baseline (0): raw BullMQ, one empty job per message: the bench adds jobs (`addBulk` of `batch`), two worker
 * processes (like the two nodes) process them with nothing to do. The ceiling of a one-job-per-push design.
 */
export class BullmqFloor {
  readonly setup: string;
  readonly pids: number[] = [];
  readonly #workers: TargetChild[] = [];
  #redis: Redis | Cluster | undefined;
  #queue: Queue | undefined;

  constructor(
    private readonly group: ProcessGroup,
    private readonly redis: PrivateRedis,
    private readonly batch: number,
  ) {
    this.setup =
      `one empty job per message: the bench adds them with addBulk (${batch} per call), two worker processes ` +
      `(concurrency ${CONCURRENCY} each) complete them; removeOnComplete.`;
  }

  async start(): Promise<void> {
    for (let i = 1; i <= 2; i++) {
      const worker = TargetChild.fork(this.group, `bullmq-worker-${i}`, 'bullmq-worker', {
        redisUrl: this.redis.url,
        cluster: this.redis.cluster,
        queue: QUEUE,
        prefix: PREFIX,
        concurrency: CONCURRENCY,
      });
      this.#workers.push(worker);
      this.pids.push(worker.child.pid);
    }
    await Promise.all(this.#workers.map((w) => w.ready));
    this.#redis = benchConnection(this.redis, 'bench-floor-producer');
    this.#redis.on('error', () => undefined);
    this.#queue = new Queue(QUEUE, { connection: this.#redis, prefix: PREFIX });
    this.#queue.on('error', () => undefined);
  }

  runLoad(spec: LoadSpec, hooks?: LoadHooks) {
    const queue = this.#queue;
    if (!queue) throw new Error('the BullMQ floor is not started');
    return runLoad(
      {
        send: async (items) => {
          await queue.addBulk(
            items.map(() => ({ name: 'j', data: {}, opts: { removeOnComplete: true, removeOnFail: true } })),
          );
        },
        delivered: () => this.#workers.reduce((sum, w) => sum + w.delivered, 0),
      },
      spec,
      hooks,
    );
  }

  async stop(): Promise<void> {
    await this.#queue?.close().catch(() => undefined);
    this.#redis?.disconnect();
    await Promise.all(this.#workers.map((w) => this.group.stop(w.child)));
  }
}
