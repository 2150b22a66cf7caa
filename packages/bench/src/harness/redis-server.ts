import { Cluster, Redis } from 'ioredis';
import { freePort, pollUntil } from './ports.js';
import type { Child, ProcessGroup } from './processes.js';
import { parseSeeds } from './redis-cluster.js';

export interface PrivateRedis {
  readonly port: number;
  readonly url: string;
  readonly version: string;
  readonly child: Child;
  /** A client for the bench's own INFO / FLUSHALL calls (named `bench-info`); the first primary of a cluster. */
  readonly admin: Redis;
  /** Every primary (one for a single Redis): Redis-side figures are summed over these. */
  readonly primaries: readonly { port: number; admin: Redis }[];
  /** `host:port` seeds when this is a Redis Cluster, else null. */
  readonly cluster: string[] | null;
  stop(): Promise<void>;
}

/** Empties every primary (replicas follow). */
export async function flushAll(redis: PrivateRedis): Promise<void> {
  await Promise.all(redis.primaries.map((p) => p.admin.flushall()));
}

/** A new connection for the bench's own BullMQ clients: an ioredis `Cluster` on a cluster. */
export function benchConnection(redis: PrivateRedis, name: string): Redis | Cluster {
  const options = { connectionName: name, maxRetriesPerRequest: null };
  if (!redis.cluster) return new Redis(redis.url, options);
  return new Cluster(parseSeeds(redis.cluster), { redisOptions: options });
}

/**
 * Starts a private, memory-only redis-server on a free port (no RDB, no AOF, `noeviction` as BullMQ needs),
 * owned by `group` so that it is stopped with everything else.
 */
export async function startPrivateRedis(group: ProcessGroup): Promise<PrivateRedis> {
  const port = await freePort();
  const child = group.spawn('redis-server', 'redis-server', [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
    '--maxmemory-policy',
    'noeviction',
    '--protected-mode',
    'yes',
  ]);
  const url = `redis://127.0.0.1:${port}`;
  const admin = new Redis(url, { connectionName: 'bench-info', lazyConnect: true, maxRetriesPerRequest: 3 });
  admin.on('error', () => undefined);
  await pollUntil(
    async () => {
      if (child.proc.exitCode !== null) throw new Error(`redis-server exited: ${child.output()}`);
      try {
        if (admin.status === 'wait') await admin.connect();
        return (await admin.ping()) === 'PONG';
      } catch {
        return false;
      }
    },
    { timeoutMs: 10_000, message: `redis-server on port ${port} to answer PING` },
  );
  const info = await admin.info('server');
  const version = /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
  return {
    port,
    url,
    version,
    child,
    admin,
    primaries: [{ port, admin }],
    cluster: null,
    stop: async () => {
      admin.disconnect();
      await group.stop(child, 'SIGTERM', 3000);
    },
  };
}
