// Stored but not routed (issue 12): a pusher that crashed between storing a push and publishing it to the holder,
// a publish that reached nobody, a push job run again after its first run stored the messages and died. The
// message must still reach the connected client promptly, not only at its next reconnect.
import { canonicalJson } from '@io-session/store';
import { describe, expect, it } from 'vitest';
import { DeliveryClient, pushQueue } from '../helpers/delivery.js';
import { startInProcessNode } from '../helpers/in-process-node.js';
import { uniquePrefix } from '../helpers/prefix.js';
import { dropPrefixAfterwards, SHARED_REDIS_URL } from '../helpers/redis-client.js';
import { waitUntil } from '../helpers/wait.js';

async function connected(label: string, options: { resyncIntervalMs?: number; consumePushQueue?: boolean }) {
  const prefix = uniquePrefix(label);
  dropPrefixAfterwards(prefix);
  const node = await startInProcessNode({
    redis: SHARED_REDIS_URL,
    prefix,
    consumePushQueue: false,
    ...options,
  });
  const client = new DeliveryClient({ token: `${label}-t`, v2: true });
  await client.connect(node.url);
  await waitUntil(async () => (await node.handler.getSession(client.token)) !== null);
  return { node, client, prefix };
}

describe('a push stored but not routed', () => {
  it('reaches its connected client through the holder’s resync (nobody published it)', async () => {
    const { node, client } = await connected('unrouted', { resyncIntervalMs: 200 });
    // What a pusher that died right after storing leaves behind: the messages in Redis, no publish.
    const stored = await node.handler.store.pushes.push(
      [1, 2, 3].map((n) => ({ token: client.token, text: canonicalJson({ n }), ttlMs: 60_000 })),
    );
    expect(stored.every((r) => r.stored)).toBe(true);
    await client.received.waitFor((d) => (d.data as { n?: number }).n === 3, 3000);
    expect(client.datas()).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
    expect(client.ids()).toEqual(stored.map((r) => (r.stored ? r.id : '')));
  });

  it('a push job run again after its first run stored its messages routes them (no resync needed)', async () => {
    // The resync is far away here: only the re-run's routing can deliver in time.
    const { node, client, prefix } = await connected('rerun', {
      resyncIntervalMs: 600_000,
      consumePushQueue: true,
    });
    const jobId = 'rerun-job-1';
    const messages = [1, 2].map((n) => ({ token: client.token, data: { n } }));
    // The first run: stored under the ids the consumer derives from the job id, then it died before routing.
    const first = await node.handler.store.pushes.push(
      messages.map((m, i) => ({
        token: m.token,
        text: canonicalJson(m.data),
        ttlMs: 60_000,
        id: `${jobId}.${i}`,
      })),
    );
    expect(first.every((r) => r.stored && !r.duplicate)).toBe(true);
    await pushQueue(SHARED_REDIS_URL, prefix).add('push', { messages }, { jobId });
    await client.received.waitFor((d) => (d.data as { n?: number }).n === 2, 3000);
    expect(client.ids()).toEqual([`${jobId}.0`, `${jobId}.1`]);
  });
});
