import { Redis } from 'ioredis';
import { deferCleanup } from './cleanup.js';

/** The Redis that the integration tests share (CI starts it; see .ci/run). */
export const SHARED_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** An ioredis client for a test, closed after the test file. */
export function redisClient(url: string = SHARED_REDIS_URL): Redis {
  const client = new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 1, enableAutoPipelining: true });
  client.on('error', () => undefined); // tests that stop Redis look at replies, not at this noise
  deferCleanup(() => client.quit().catch(() => client.disconnect()));
  return client;
}

/** Deletes every key of a prefix (io-session keys all start with `<prefix>:`; BullMQ's with `{<prefix>}`). */
export async function dropPrefix(client: Redis, prefix: string): Promise<number> {
  let deleted = 0;
  for (const pattern of [`${prefix}:*`, `{${prefix}}*`]) {
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) deleted += await client.unlink(...keys);
    } while (cursor !== '0');
  }
  return deleted;
}

/** Registers the deletion of a prefix's keys after the test file (for tests on the shared Redis). */
export function dropPrefixAfterwards(prefix: string, url: string = SHARED_REDIS_URL): void {
  deferCleanup(async () => {
    const client = new Redis(url, { maxRetriesPerRequest: 1 });
    client.on('error', () => undefined);
    try {
      await dropPrefix(client, prefix);
    } finally {
      client.disconnect();
    }
  });
}
