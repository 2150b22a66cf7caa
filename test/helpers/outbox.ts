import type { Cluster, Redis } from 'ioredis';
import { primariesOf } from './redis-client.js';
import { waitUntil } from './wait.js';

/**
 * The bucket outbox streams of a key prefix (`<prefix>:{<prefix>.<b>}:outbox`) that exist, each with the server
 * that holds it (every primary of a cluster is scanned).
 */
async function outboxStreams(
  redis: Redis | Cluster,
  prefix: string,
): Promise<{ server: Redis; key: string }[]> {
  const found: { server: Redis; key: string }[] = [];
  for (const server of await primariesOf(redis)) {
    let cursor = '0';
    do {
      const [next, keys] = await server.scan(
        cursor,
        'MATCH',
        `${prefix}:{${prefix}.*}:outbox`,
        'COUNT',
        1000,
      );
      cursor = next;
      for (const key of keys) found.push({ server, key });
    } while (cursor !== '0');
  }
  return found;
}

/**
 * How many entries the Lua scripts ever appended to the outboxes of a prefix: the sum of XINFO STREAM's
 * `entries-added` (Redis 7), which relaying (XDEL) does not lower. Every session event and every receipt is one
 * XADD there, so this counts them where they are produced, before a relay, a job id or a consumer can merge or
 * drop a repeat. The streams are never deleted while the nodes run (an emptied stream stays, with its count).
 */
export async function outboxEntriesAdded(redis: Redis | Cluster, prefix: string): Promise<number> {
  let total = 0;
  for (const { server, key } of await outboxStreams(redis, prefix)) {
    const info = (await server.xinfo('STREAM', key)) as unknown[];
    const at = info.indexOf('entries-added');
    if (at < 0) throw new Error(`XINFO STREAM ${key} has no entries-added: Redis 7 or later is needed`);
    total += Number(info[at + 1]);
  }
  return total;
}

/**
 * Waits until the outboxes of a prefix are empty. A relayed entry is deleted, so then every entry appended so
 * far has reached its queue, also one that no node relayed at once: outbox recovery relays it once stale (15 s),
 * from a pass every 5 s, and a bucket's recovery lease (15 s) may delay it by one more staleness: hence 45 s.
 */
export async function outboxDrained(redis: Redis | Cluster, prefix: string, timeout = 45_000): Promise<void> {
  await waitUntil(
    async () => {
      const streams = await outboxStreams(redis, prefix);
      const lengths = await Promise.all(streams.map(({ server, key }) => server.xlen(key)));
      const backlog = lengths.reduce((a, b) => a + b, 0);
      if (backlog > 0) throw new Error(`${backlog} entries wait in the outboxes of ${prefix}`);
      return true;
    },
    { timeout, interval: 100, message: 'every outbox entry relayed' },
  );
}
