import { startRedisCluster, type ProcessGroup } from '@io-session/devtools';
import { adminClient, BENCH_REDIS_ARGS, redisVersion, type PrivateRedis } from './redis-server.js';

/**
 * A private, memory-only Redis Cluster of three primaries and three replicas on free ports, owned by `group`;
 * the bench's Redis-side figures come from its primaries.
 */
export async function startPrivateCluster(group: ProcessGroup): Promise<PrivateRedis> {
  const cluster = await startRedisCluster({ group, extraArgs: BENCH_REDIS_ARGS });
  const primaryPorts = new Set(await cluster.primaryPorts());
  const primaries = [...cluster.servers.keys()]
    .filter((port) => primaryPorts.has(port))
    .map((port) => ({ port, admin: adminClient(port) }));
  const first = primaries[0]!;
  return {
    port: first.port,
    url: `redis://127.0.0.1:${first.port}`,
    version: await redisVersion(first.admin),
    admin: first.admin,
    primaries,
    cluster: cluster.seeds,
    stop: async () => {
      for (const p of primaries) p.admin.disconnect();
      await cluster.stop();
    },
  };
}
