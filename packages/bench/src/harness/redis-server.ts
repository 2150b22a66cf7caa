import { startRedisServer, type ProcessGroup } from '@io-session/devtools';
import { parseSeeds } from '@io-session/store';
import { Cluster, Redis } from 'ioredis';

export interface PrivateRedis {
  readonly port: number;
  readonly url: string;
  readonly version: string;
  /** A client for the bench's own INFO / FLUSHALL calls (named `bench-info`); the first primary of a cluster. */
  readonly admin: Redis;
  /** Every primary (one for a single Redis): Redis-side figures are summed over these. */
  readonly primaries: readonly { port: number; admin: Redis }[];
  /** `host:port` seeds when this is a Redis Cluster, else null. */
  readonly cluster: string[] | null;
  stop(): Promise<void>;
}

/** Arguments of every redis-server of the bench beside the memory-only ones: `noeviction`, as BullMQ needs. */
export const BENCH_REDIS_ARGS = ['--maxmemory-policy', 'noeviction'];

/** The bench's own client for INFO / FLUSHALL / MONITOR bookkeeping on one server. */
export function adminClient(port: number): Redis {
  const client = new Redis(port, '127.0.0.1', {
    connectionName: 'bench-info',
    lazyConnect: true,
    maxRetriesPerRequest: 3,
  });
  client.on('error', () => undefined);
  return client;
}

export async function redisVersion(admin: Redis): Promise<string> {
  return /redis_version:(\S+)/.exec(await admin.info('server'))?.[1] ?? 'unknown';
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

/** A private, memory-only redis-server on a free port, owned by `group` (stopped with everything else). */
export async function startPrivateRedis(group: ProcessGroup): Promise<PrivateRedis> {
  const server = await startRedisServer({ group, extraArgs: BENCH_REDIS_ARGS });
  const admin = adminClient(server.port);
  return {
    port: server.port,
    url: server.url,
    version: await redisVersion(admin),
    admin,
    primaries: [{ port: server.port, admin }],
    cluster: null,
    stop: async () => {
      admin.disconnect();
      await server.stop();
    },
  };
}
