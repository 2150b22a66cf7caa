import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, pollUntil, sleep, type Child, type ProcessGroup } from '@io-session/devtools';
import { parseSeeds } from '@io-session/store';
import {
  QueueName,
  queuePrefix,
  type PushJob,
  type ReceiptsJob,
  type SessionEventJob,
} from '@io-session/worker';
import { Queue, Worker } from 'bullmq';
import { Cluster, Redis } from 'ioredis';
import type { ClientMode } from '../children/messages.js';
import { runLoad, type LoadHooks, type LoadSpec } from '../load/pacer.js';
import { tokenGroup, type SessionSystem } from './system.js';

export const PROJECT_KEY_PREFIX = 'bench';
const API_KEY = 'bench-api-key-0123456789abcdef';

export interface ProjectOptions {
  redisUrl: string;
  /** `host:port` seeds of a Redis Cluster: the nodes get REDIS_CLUSTER instead of REDIS_URL. */
  redisCluster?: string[] | null;
  clientMode: ClientMode;
  /** Messages per `{ messages: [...] }` push job. */
  batch: number;
  /** Write V8 CPU profiles of the nodes (`node --cpu-prof`) into this directory. */
  cpuProfDir?: string;
}

/** The `io-session` CLI of the installed @io-session/server (its package.json `bin`), or IO_SESSION_CLI. */
export function projectCli(): string {
  if (process.env.IO_SESSION_CLI) return process.env.IO_SESSION_CLI;
  const manifest = fileURLToPath(import.meta.resolve('@io-session/server/package.json'));
  const { bin } = JSON.parse(readFileSync(manifest, 'utf8')) as { bin: Record<string, string> };
  const cli = join(dirname(manifest), bin['io-session'] ?? 'dist/cli.js');
  if (!existsSync(cli)) throw new Error(`io-session CLI not found at ${cli}: run \`npm run build\` first`);
  return cli;
}

/**
 * io-session as users run it: two `io-session node` processes on one Redis, driven through the BullMQ `push`
 * queue with `{ messages: [...] }` batch jobs. A message counts as done when its receipt job has been consumed
 * by the bench's own `receipts` worker; a `session-events` worker tells when sessions are registered and ended.
 */
export class ProjectSystem implements SessionSystem {
  readonly name = 'project';
  readonly usesRedis = true;
  readonly clientMode: ClientMode;
  readonly setup: string;
  urls: string[] = [];
  pids: number[] = [];
  readonly #nodes: Child[] = [];
  readonly #connections: (Redis | Cluster)[] = [];
  #push: Queue<PushJob> | undefined;
  #queues: Queue[] = [];
  #workers: Worker[] = [];
  #receipts = 0;
  readonly #started = new Map<string, number>();
  readonly #ended = new Map<string, number>();

  constructor(
    private readonly group: ProcessGroup,
    private readonly options: ProjectOptions,
  ) {
    this.clientMode = options.clientMode;
    this.setup =
      `two \`io-session node\` processes (sharded Redis adapter, state in Redis); pushes as BullMQ \`push\` jobs of ` +
      `{ messages: [...] } batches of ${options.batch}; ${options.clientMode === 'v2' ? 'v2 clients ack by callback' : "legacy clients ack with the seed's push_message_delivery"}; ` +
      'a message is done when its receipt job is consumed from the `receipts` queue by a BullMQ worker in the bench.';
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
    const cli = projectCli();
    const execArgs: string[] = [];
    if (this.options.cpuProfDir) {
      mkdirSync(this.options.cpuProfDir, { recursive: true });
      execArgs.push('--cpu-prof', `--cpu-prof-dir=${this.options.cpuProfDir}`);
    }
    for (let i = 1; i <= 2; i++) {
      const port = await freePort();
      const env: NodeJS.ProcessEnv = { ...process.env };
      delete env.REDIS_URL;
      delete env.REDIS_CLUSTER;
      if (this.options.redisCluster) env.REDIS_CLUSTER = this.options.redisCluster.join(',');
      else env.REDIS_URL = this.options.redisUrl;
      const node = this.group.spawn(`io-session-node-${i}`, process.execPath, [...execArgs, cli, 'node'], {
        env: {
          ...env,
          PORT: String(port),
          NODE_ID: `bench-node-${i}`,
          KEY_PREFIX: PROJECT_KEY_PREFIX,
          API_KEY,
          LOG_LEVEL: 'warn',
          SESSION_TIMEOUT_MS: '1000',
          DRAIN_MS: '0',
          // Benchmark clients acknowledge every push: the per-connection event limit is not what is measured.
          RATE_LIMIT_PER_SEC: '100000',
        },
      });
      this.#nodes.push(node);
      this.urls.push(`http://127.0.0.1:${port}`);
      this.pids.push(node.pid);
    }
    await Promise.all(
      this.#nodes.map((node, i) =>
        pollUntil(
          async () => {
            if (node.proc.exitCode !== null) throw new Error(`io-session node exited:\n${node.output()}`);
            return fetch(`${this.urls[i]}/readyz`).then(
              (r) => r.ok,
              () => false,
            );
          },
          { timeoutMs: 30_000, intervalMs: 100, message: `${this.urls[i]}/readyz to answer 200` },
        ),
      ),
    );
    const prefix = queuePrefix(PROJECT_KEY_PREFIX);
    this.#push = new Queue<PushJob>(QueueName.push, { connection: this.#redis('bench-producer'), prefix });
    this.#queues = [
      this.#push,
      new Queue(QueueName.receipts, { connection: this.#redis('bench-counts-r'), prefix }),
      new Queue(QueueName.sessionEvents, { connection: this.#redis('bench-counts-e'), prefix }),
    ];
    const receipts = new Worker<ReceiptsJob>(
      QueueName.receipts,
      async (job) => {
        this.#receipts += job.data.receipts.length;
      },
      { connection: this.#redis('bench-receipts'), prefix, concurrency: 8 },
    );
    const events = new Worker<SessionEventJob>(
      QueueName.sessionEvents,
      async (job) => {
        const counts = job.data.type === 'session.started' ? this.#started : this.#ended;
        const group = tokenGroup(job.data.token);
        counts.set(group, (counts.get(group) ?? 0) + 1);
      },
      { connection: this.#redis('bench-events'), prefix, concurrency: 8 },
    );
    this.#workers = [receipts, events];
    for (const q of this.#queues) q.on('error', () => undefined);
    for (const w of this.#workers) w.on('error', () => undefined);
    await Promise.all(this.#workers.map((w) => w.waitUntilReady()));
  }

  started(prefix: string): number {
    return this.#started.get(prefix) ?? 0;
  }

  ended(prefix: string): number {
    return this.#ended.get(prefix) ?? 0;
  }

  runLoad(spec: LoadSpec, hooks?: LoadHooks) {
    const push = this.#push;
    if (!push) throw new Error('io-session is not started');
    return runLoad(
      {
        send: async (items) => {
          await push.add(
            'push',
            { messages: items.map((i) => ({ token: i.token, data: i.data })) },
            { removeOnComplete: true, removeOnFail: true },
          );
        },
        delivered: () => this.#receipts,
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
    await Promise.all(this.#workers.map((w) => w.close(true).catch(() => undefined)));
    await Promise.all(this.#queues.map((q) => q.close().catch(() => undefined)));
    for (const c of this.#connections) c.disconnect();
    // SIGTERM: the node drains (DRAIN_MS=0) and exits 0, which also writes its --cpu-prof profile.
    await Promise.all(this.#nodes.map((n) => this.group.stop(n, 'SIGTERM', 10_000)));
    if (process.env.BENCH_DEBUG) {
      for (const n of this.#nodes) process.stderr.write(`--- ${n.name} output:\n${n.output()}\n`);
    }
  }
}
