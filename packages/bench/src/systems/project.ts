import { pollUntil, sleep, type Child, type ProcessGroup } from '@io-session/devtools';
import { parseSeeds } from '@io-session/store';
import { pushShardOf, QueueName, queuePrefixes, queueShardsOf, type PushJob } from '@io-session/worker';
import { Queue } from 'bullmq';
import { Cluster, Redis } from 'ioredis';
import type { ClientMode } from '../children/messages.js';
import { readCounters, type CounterName } from '../harness/node-metrics.js';
import { runLoad, type LoadHooks, type LoadSpec } from '../load/pacer.js';
import { API_KEY, PROJECT_KEY_PREFIX, startNodes, type ProjectRedis } from './project-processes.js';
import {
  startBullmqCounter,
  startWorkerCounter,
  type ReceiptConsumer,
  type ReceiptCounter,
} from './receipt-counters.js';
import type { GroupDriver, SessionSystem } from './system.js';

export { PROJECT_KEY_PREFIX, projectCli } from './project-processes.js';

export interface ProjectOptions extends ProjectRedis {
  clientMode: ClientMode;
  /** Messages per `{ messages: [...] }` push job. */
  batch: number;
  /** `io-session node` processes. Default 2. */
  nodes?: number;
  /** Who consumes receipts and session events: `io-session worker` (default) or plain BullMQ workers. */
  receipts?: ReceiptConsumer;
  /** Write V8 CPU profiles of the nodes (`node --cpu-prof`) into this directory. */
  cpuProfDir?: string;
}

const clientText: Record<ClientMode, string> = {
  v3: 'v3 clients (the SDK, @io-session/client, protocol: 3) ack each push_batch frame once',
  v2: 'v2 clients ack each push by callback',
  legacy: "legacy clients ack with the seed's push_message_delivery",
};

const consumerText: Record<ReceiptConsumer, string> = {
  worker:
    'a message is done when its receipt, consumed from the `receipts` queue by the `io-session worker` command, ' +
    'reached an HTTP receiver in the bench (RECEIPT_WEBHOOK_URL; session events likewise, EVENTS_WEBHOOK_URL)',
  bullmq:
    'a message is done when its receipt job is consumed from the `receipts` queue by a plain BullMQ worker in ' +
    'the bench (--receipts bullmq: no worker dedupe state)',
};

/**
 * io-session as users run it: `io-session node` processes on one Redis (or a Redis Cluster), driven through
 * the BullMQ `push` queue with `{ messages: [...] }` batch jobs; receipts and session events consumed by
 * `io-session worker` (or, with `receipts: 'bullmq'`, by plain BullMQ workers in the bench).
 */
export class ProjectSystem implements SessionSystem {
  readonly name = 'project';
  readonly usesRedis = true;
  readonly clientMode: ClientMode;
  readonly receipts: ReceiptConsumer;
  urls: string[] = [];
  pids: number[] = [];
  workerPids: number[] = [];
  #nodes: Child[] = [];
  readonly #connections: (Redis | Cluster)[] = [];
  /** The `push` queue, shard by shard. */
  #push: Queue<PushJob>[] | undefined;
  #queues: Queue[] = [];
  #counter: ReceiptCounter | undefined;

  constructor(
    private readonly group: ProcessGroup,
    private readonly options: ProjectOptions,
  ) {
    this.clientMode = options.clientMode;
    this.receipts = options.receipts ?? 'worker';
  }

  get setup(): string {
    const nodes = this.options.nodes ?? 2;
    return (
      `${nodes} \`io-session node\` process${nodes === 1 ? '' : 'es'} (state in Redis); pushes as BullMQ \`push\` jobs ` +
      `of { messages: [...] } batches of ${this.options.batch}; ${clientText[this.clientMode]}; ` +
      `${consumerText[this.receipts]}.`
    );
  }

  #redis(name: string): Redis | Cluster {
    const cluster = this.options.redisCluster;
    const options = { connectionName: name, maxRetriesPerRequest: null };
    const client = cluster
      ? new Cluster(parseSeeds(cluster), { redisOptions: options })
      : new Redis(this.options.redisUrl, options);
    client.on('error', () => undefined);
    this.#connections.push(client);
    return client;
  }

  async start(): Promise<void> {
    // The queue shards the nodes will record (QUEUE_SHARDS unset: their default for this kind of Redis).
    const shards = await queueShardsOf(this.#redis('bench-layout'), PROJECT_KEY_PREFIX);
    const prefixes = queuePrefixes(PROJECT_KEY_PREFIX, shards);
    // The consumer starts beside the nodes: they only produce into its queues once clients connect.
    const [started, counter] = await Promise.all([
      startNodes(this.group, this.options, {
        count: this.options.nodes ?? 2,
        cpuProfDir: this.options.cpuProfDir,
      }),
      this.receipts === 'bullmq'
        ? startBullmqCounter((name) => this.#redis(name), prefixes)
        : startWorkerCounter(this.group, this.options),
    ]);
    this.#nodes = started.nodes;
    this.urls = started.urls;
    this.pids = started.nodes.map((n) => n.pid);
    this.#counter = counter;
    this.workerPids = counter.pids;
    const producer = this.#redis('bench-producer');
    this.#push = prefixes.map(
      (prefix) => new Queue<PushJob>(QueueName.push, { connection: producer, prefix }),
    );
    // Counting only: leave the queues' settings (their event streams' cap) to the nodes that own them.
    const counting = (name: string, connection: Redis | Cluster) =>
      prefixes.map((prefix) => new Queue(name, { connection, prefix, skipMetasUpdate: true }));
    this.#queues = [
      ...this.#push,
      ...counting(QueueName.receipts, this.#redis('bench-counts-r')),
      ...counting(QueueName.sessionEvents, this.#redis('bench-counts-e')),
    ];
    for (const q of this.#queues) q.on('error', () => undefined);
  }

  started(prefix: string): number {
    return this.#counter?.started(prefix) ?? 0;
  }

  ended(prefix: string): number {
    return this.#counter?.ended(prefix) ?? 0;
  }

  /** Group pushes: members joined over the nodes' HTTP API, pushes as `{ group, data, id }` jobs. */
  readonly groups: GroupDriver = {
    join: async (group, tokens) => {
      let next = 0;
      const one = async (): Promise<void> => {
        for (let i = next++; i < tokens.length; i = next++) {
          const url = `${this.urls[i % this.urls.length]!}/v1/sessions/${encodeURIComponent(tokens[i]!)}/groups/${group}`;
          const res = await fetch(url, { method: 'PUT', headers: { authorization: `Bearer ${API_KEY}` } });
          if (res.status !== 204) throw new Error(`joining ${tokens[i]} to ${group}: HTTP ${res.status}`);
        }
      };
      await Promise.all(Array.from({ length: 32 }, one));
    },
    push: async (group, id, data) => {
      const shard0 = this.#push?.[0];
      if (!shard0) throw new Error('io-session is not started');
      await shard0.add('push-group', { group, data, id }, { removeOnComplete: true, removeOnFail: true });
    },
    receipts: () => this.#counter?.receipts() ?? 0,
  };

  /** Pushes one message to `token` (the protocol probe). */
  async pushOne(token: string, data: unknown): Promise<void> {
    const push = this.#push;
    if (!push) throw new Error('io-session is not started');
    const queue = push[pushShardOf(token, push.length)]!;
    await queue.add('push', { token, data }, { removeOnComplete: true, removeOnFail: true });
  }

  /** The scaling counters of every node's `/metrics`, in node order. */
  nodeCounters(): Promise<Record<CounterName, number | null>[]> {
    return Promise.all(this.urls.map((url) => readCounters(url)));
  }

  runLoad(spec: LoadSpec, hooks?: LoadHooks) {
    const push = this.#push;
    if (!push) throw new Error('io-session is not started');
    return runLoad(
      {
        // One job per queue shard of the batch, each message in its token's shard (as PushQueue does).
        send: async (items) => {
          const byShard = push.map((): { token: string; data: unknown }[] => []);
          for (const i of items)
            byShard[pushShardOf(i.token, push.length)]!.push({ token: i.token, data: i.data });
          await Promise.all(
            byShard.map((messages, shard) =>
              messages.length === 0
                ? undefined
                : push[shard]!.add('push', { messages }, { removeOnComplete: true, removeOnFail: true }),
            ),
          );
        },
        delivered: () => this.#counter?.receipts() ?? 0,
      },
      spec,
      hooks,
    );
  }

  async settle(): Promise<void> {
    await pollUntil(
      async () => {
        const counts = await Promise.all(
          this.#queues.map((q) => q.getJobCounts('wait', 'active', 'delayed')),
        );
        return counts.every((c) => (c.wait ?? 0) + (c.active ?? 0) + (c.delayed ?? 0) === 0);
      },
      { timeoutMs: 30_000, intervalMs: 50, message: 'the io-session queues to drain' },
    );
    await sleep(300);
  }

  async stop(): Promise<void> {
    await this.#counter?.stop();
    await Promise.all(this.#queues.map((q) => q.close().catch(() => undefined)));
    for (const c of this.#connections) c.disconnect();
    // SIGTERM: the node drains (DRAIN_MS=0) and exits 0, which also writes its --cpu-prof profile.
    await Promise.all(this.#nodes.map((n) => this.group.stop(n, 'SIGTERM', 10_000)));
    if (process.env.BENCH_DEBUG) {
      for (const n of this.#nodes) process.stderr.write(`--- ${n.name} output:\n${n.output()}\n`);
    }
  }
}
