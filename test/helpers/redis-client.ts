import { parseSeeds } from '@io-session/store';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { inject } from 'vitest';
import { deferCleanup } from './cleanup.js';

/**
 * `TEST_REDIS=cluster` (the `redis-cluster` vitest project sets it): the shared Redis of the tests is the local
 * Redis Cluster that test/helpers/global-redis-cluster.ts started for the run. Tests keep passing
 * `SHARED_REDIS_URL` around; the helpers that connect (`redisClient`, `connectRedis`, `redisTarget`, `spawnCli`,
 * `startInProcessNode`, `openStore`, the queue helpers) turn it into the cluster. Unset: one Redis, as always.
 */
export const ON_REDIS_CLUSTER = process.env.TEST_REDIS === 'cluster';

/** `host:port` seeds of the shared Redis Cluster; empty unless `ON_REDIS_CLUSTER`. */
export const SHARED_REDIS_CLUSTER: readonly string[] = ON_REDIS_CLUSTER ? clusterSeeds() : [];

function clusterSeeds(): string[] {
  const seeds = inject('redisClusterSeeds') ?? (process.env.TEST_REDIS_CLUSTER ?? '').split(',');
  const valid = seeds.map((s) => s.trim()).filter((s) => /^[^:]*:\d+$/.test(s));
  if (valid.length === 0)
    throw new Error(
      'TEST_REDIS=cluster, but no Redis Cluster: run the redis-cluster project (its globalSetup starts one), ' +
        'or set TEST_REDIS_CLUSTER=host:port,… to use a running cluster',
    );
  return valid;
}

/**
 * The Redis that the integration tests share (CI starts it; see .ci/run). With `TEST_REDIS=cluster`, the URL of
 * the cluster's first seed: the helpers recognize it and connect to the whole cluster instead.
 */
export const SHARED_REDIS_URL = ON_REDIS_CLUSTER
  ? `redis://${SHARED_REDIS_CLUSTER[0]}`
  : (process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379');

/** Whether `url` stands for the shared Redis Cluster (cluster mode, and the shared URL). */
export function isSharedCluster(url: string): boolean {
  return ON_REDIS_CLUSTER && url === SHARED_REDIS_URL;
}

/**
 * What to hand to `from(io, { redis })`, `openRedis`, `createWorker({ connection })` for `url`: the cluster's
 * seeds for the shared URL in cluster mode, else the URL itself.
 */
export function redisTarget(url: string = SHARED_REDIS_URL): string | { cluster: string[] } {
  return isSharedCluster(url) ? { cluster: [...SHARED_REDIS_CLUSTER] } : url;
}

/**
 * The environment of a CLI process (`io-session node` / `worker`) with `REDIS_CLUSTER` added when its
 * `REDIS_URL` is the shared URL in cluster mode (REDIS_CLUSTER wins over REDIS_URL, CONTRACT §2); else `env`.
 */
export function withRedisCluster(env: Record<string, string>): Record<string, string> {
  if (env.REDIS_URL === undefined || !isSharedCluster(env.REDIS_URL) || env.REDIS_CLUSTER !== undefined)
    return env;
  return { ...env, REDIS_CLUSTER: SHARED_REDIS_CLUSTER.join(',') };
}

/**
 * A plain ioredis connection to `url`: `new Redis(url, options)`, or, for the shared URL in cluster mode, an
 * ioredis `Cluster` of its seeds with `options` for each node connection.
 */
export function connectRedis(url: string, options: RedisOptions): Redis | Cluster {
  if (!isSharedCluster(url)) return new Redis(url, options);
  const { lazyConnect, enableAutoPipelining, ...perNode } = options;
  return new Cluster(parseSeeds([...SHARED_REDIS_CLUSTER]), {
    redisOptions: perNode,
    ...(lazyConnect !== undefined ? { lazyConnect } : {}),
    ...(enableAutoPipelining !== undefined ? { enableAutoPipelining } : {}),
  });
}

/**
 * The servers to SCAN for keys: the client itself, or every primary of a cluster (keys live on the primary
 * that owns their slot, and SCAN sees one server's keys only).
 */
export async function primariesOf(client: Redis | Cluster): Promise<Redis[]> {
  if (!(client instanceof Cluster)) return [client];
  if (client.status !== 'ready') {
    if (client.status === 'wait') void client.connect().catch(() => undefined);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the Redis Cluster client is not ready')), 10_000);
      client.once('ready', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
  return client.nodes('master');
}

/**
 * An ioredis client for a test, closed after the test file. With `TEST_REDIS=cluster` and the shared URL, an
 * ioredis `Cluster` (typed as `Redis`, whose commands it has: key commands are routed by slot; what concerns a
 * whole server, like SCAN, must go through `primariesOf`, as the helpers here do).
 */
export function redisClient(url: string = SHARED_REDIS_URL): Redis {
  const client = connectRedis(url, {
    lazyConnect: false,
    maxRetriesPerRequest: 1,
    enableAutoPipelining: true,
  });
  client.on('error', () => undefined); // tests that stop Redis look at replies, not at this noise
  deferCleanup(() => client.quit().catch(() => client.disconnect()));
  return client as Redis;
}

/** Deletes every key of a prefix (io-session keys all start with `<prefix>:`; BullMQ's with `{<prefix>}` or `{<prefix>.q`). */
export async function dropPrefix(client: Redis | Cluster, prefix: string): Promise<number> {
  let deleted = 0;
  for (const server of await primariesOf(client)) {
    for (const pattern of [`${prefix}:*`, `{${prefix}}*`, `{${prefix}.q*`]) {
      let cursor = '0';
      do {
        const [next, keys] = await server.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        cursor = next;
        if (keys.length > 0) deleted += await unlink(server, client, keys);
      } while (cursor !== '0');
    }
  }
  return deleted;
}

/** UNLINK in one command on one Redis; key by key on a cluster, where one command's keys must share a slot. */
async function unlink(server: Redis, client: Redis | Cluster, keys: string[]): Promise<number> {
  if (server === client) return server.unlink(...keys);
  const counts = await Promise.all(keys.map((key) => server.unlink(key)));
  return counts.reduce((a, b) => a + b, 0);
}

/** Registers the deletion of a prefix's keys after the test file (for tests on the shared Redis). */
export function dropPrefixAfterwards(prefix: string, url: string = SHARED_REDIS_URL): void {
  deferCleanup(async () => {
    const client = connectRedis(url, { maxRetriesPerRequest: 1 });
    client.on('error', () => undefined);
    try {
      await dropPrefix(client, prefix);
    } finally {
      client.disconnect();
    }
  });
}
