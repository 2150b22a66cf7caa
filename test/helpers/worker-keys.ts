import type { Cluster, Redis } from 'ioredis';
import { primariesOf } from './redis-client.js';

/** Keys matching `pattern` on each primary (one entry per server; one for a single Redis). */
export async function keysPerPrimary(client: Redis | Cluster, pattern: string): Promise<string[][]> {
  const perServer: string[][] = [];
  for (const server of await primariesOf(client)) {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, page] = await server.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      keys.push(...page);
    } while (cursor !== '0');
    perServer.push(keys);
  }
  return perServer;
}

/**
 * The keys the worker itself holds for a key prefix, counted at the source with SCAN: everything under
 * `<prefix>:` (BullMQ's keys are under `{<prefix>}`, which this pattern does not match) but the layout record,
 * where a worker that starts first records the queue shard count.
 */
export async function workerKeys(client: Redis | Cluster, prefix: string): Promise<string[]> {
  const keys = (await keysPerPrimary(client, `${prefix}:*`)).flat();
  return keys.filter((key) => key !== `${prefix}:{${prefix}.meta}:config`);
}
