import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ProcessGroup } from '@io-session/devtools';
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { chaosDefaults } from '../defaults.js';
import type { History } from '../history.js';
import type { ChaosOptions } from '../options.js';
import { ChaosRedis } from './chaos-redis.js';
import { CHAOS_API_KEY, CHAOS_PREFIX, NodeSlot } from './node-slot.js';

/** The `io-session` CLI of the installed @io-session/server. */
function serverCli(): string {
  const manifest = fileURLToPath(import.meta.resolve('@io-session/server/package.json'));
  const { bin } = JSON.parse(readFileSync(manifest, 'utf8')) as { bin: Record<string, string> };
  const cli = join(dirname(manifest), bin['io-session'] ?? 'dist/cli.js');
  if (!existsSync(cli)) throw new Error(`io-session CLI not found at ${cli}: run \`npm run build\` first`);
  return cli;
}

function nodeEnv(options: ChaosOptions): Record<string, string> {
  const d = chaosDefaults;
  return {
    KEY_PREFIX: CHAOS_PREFIX,
    API_KEY: CHAOS_API_KEY,
    LOG_LEVEL: 'warn',
    SESSION_TIMEOUT_MS: String(d.graceMs),
    HEARTBEAT_MS: String(d.heartbeatMs),
    HEARTBEAT_TTL_MS: String(d.heartbeatTtlMs),
    DRAIN_MS: '500',
    // the checker reads every receipt and session-event job back from the queues
    QUEUE_KEEP_COMPLETED: '1000000',
    MESSAGE_STATUS_RETENTION_MS: String(Math.round(options.minutes * 60_000) + 600_000),
  };
}

/**
 * What a run starts: a private Redis, `nodes` node processes each behind its fault proxy, and a plain BullMQ
 * consumer of `receipts` and `session-events` that completes every job and does nothing else (no dedupe), so
 * that a job relayed twice after the first completed is counted twice.
 */
export class ChaosCluster {
  readonly group: ProcessGroup;
  readonly redis: ChaosRedis;
  readonly slots: NodeSlot[];
  /** A plain client of the run's Redis, for reading queues and outboxes. */
  readonly inspector: Redis;
  readonly #consumers: Worker[];

  private constructor(parts: {
    group: ProcessGroup;
    redis: ChaosRedis;
    slots: NodeSlot[];
    inspector: Redis;
    consumers: Worker[];
  }) {
    this.group = parts.group;
    this.redis = parts.redis;
    this.slots = parts.slots;
    this.inspector = parts.inspector;
    this.#consumers = parts.consumers;
  }

  static async start(options: ChaosOptions, history: History): Promise<ChaosCluster> {
    const group = new ProcessGroup();
    const redis = await ChaosRedis.start(group);
    const settings = { cli: serverCli(), group, history, env: nodeEnv(options) };
    const slots: NodeSlot[] = [];
    for (let i = 1; i <= options.nodes; i++) slots.push(await NodeSlot.create(i, redis.port, settings));
    await Promise.all(slots.map((s) => s.start()));
    const inspector = new Redis(redis.url, { maxRetriesPerRequest: null });
    inspector.on('error', () => undefined);
    const consumers = ['receipts', 'session-events'].map((name) => {
      const worker = new Worker(name, async () => undefined, {
        connection: { host: '127.0.0.1', port: redis.port, maxRetriesPerRequest: null },
        prefix: `{${CHAOS_PREFIX}}`,
        concurrency: 8,
      });
      worker.on('error', () => undefined);
      return worker;
    });
    return new ChaosCluster({ group, redis, slots, inspector, consumers });
  }

  async close(): Promise<void> {
    await Promise.all(this.#consumers.map((w) => w.close(true).catch(() => undefined)));
    this.inspector.disconnect();
    await Promise.all(this.slots.map((s) => s.close()));
    await this.redis.stop().catch(() => undefined);
    await this.group.stopAll();
  }
}
