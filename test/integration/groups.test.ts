import { GroupRefusedError, PushRejectedError, signToken } from '@io-session/server';
import { memberMessageId, recipientMessageId } from '@io-session/store';
import { PushQueue } from '@io-session/worker';
import { describe, expect, it } from 'vitest';
import { connectError } from '../helpers/clients.js';
import { deferCleanup } from '../helpers/cleanup.js';
import { DeliveryClient, receiptsInQueue, type SeenReceipt } from '../helpers/delivery.js';
import { startInProcessNode, type InProcessNode } from '../helpers/in-process-node.js';
import { uniquePrefix } from '../helpers/prefix.js';
import { dropPrefixAfterwards, redisClient, redisTarget, SHARED_REDIS_URL } from '../helpers/redis-client.js';
import { waitUntil } from '../helpers/wait.js';

/**
 * CONTRACT §10, in-process and by queue job: two nodes on one Redis (or the Redis Cluster), members connected to
 * both. Every member of a group at the time of a push gets its own message and exactly one receipt, which carries
 * the group (counted at the source: the `receipts` jobs); non-members get nothing; retries store nothing twice.
 */
const SECRET = 'groups-test-secret-0123456789';

async function twoNodes(
  label: string,
  auth = false,
): Promise<{ a: InProcessNode; b: InProcessNode; prefix: string }> {
  const prefix = uniquePrefix(label);
  dropPrefixAfterwards(prefix);
  const options = {
    redis: SHARED_REDIS_URL,
    prefix,
    timeout: 5000,
    consumePushQueue: true,
    ...(auth ? { auth: { mode: 'jwt' as const, secret: SECRET } } : {}),
  };
  return { a: await startInProcessNode(options), b: await startInProcessNode(options), prefix };
}

/** v2 clients `<label>0…`, alternately on node a and b, acknowledging what they get. */
async function clientsOn(nodes: InProcessNode[], label: string, n: number): Promise<DeliveryClient[]> {
  const clients = Array.from(
    { length: n },
    (_, i) => new DeliveryClient({ token: `${label}${i}`, v2: true }),
  );
  await Promise.all(clients.map((c, i) => c.connect((nodes[i % nodes.length] as InProcessNode).url)));
  return clients;
}

async function groupReceipts(prefix: string, group: string, count: number): Promise<SeenReceipt[]> {
  const redis = redisClient();
  return waitUntil(
    async () => {
      const seen = (await receiptsInQueue(redis, prefix)).filter((r) => r.receipt.group === group);
      return seen.length >= count && seen;
    },
    { message: `${count} receipts of group ${group}` },
  );
}

describe('group pushes in-process (CONTRACT §10)', () => {
  it('reaches every member once, on every node, each with its own id and one receipt carrying the group', async () => {
    const { a, b, prefix } = await twoNodes('gin');
    const delivered: { group?: string }[] = [];
    for (const n of [a, b]) n.handler.onMessageDelivered((e) => delivered.push(e));
    const members = await clientsOn([a, b], 'm', 12);
    const outsider = (await clientsOn([a], 'x', 1))[0]!;
    for (const c of members) expect(await a.handler.joinGroup(c.token, 'zone:5')).toBe(true);

    const pushed = await b.handler.pushToGroup('zone:5', { text: 'closing' }, { id: 'close-1' });
    expect(pushed).toEqual({ id: 'close-1', recipients: 12 });
    for (const c of members) {
      const [got] = await c.received.waitForCount(() => true, 1);
      expect(got).toMatchObject({
        id: memberMessageId('close-1', c.token, 'zone:5'),
        data: { text: 'closing' },
      });
    }
    // a retried call stores nothing twice
    expect(await a.handler.pushToGroup('zone:5', { text: 'closing' }, { id: 'close-1' })).toEqual({
      id: 'close-1',
      recipients: 12,
    });
    const receipts = await groupReceipts(prefix, 'zone:5', 12);
    expect(receipts).toHaveLength(12);
    expect(new Set(receipts.map((r) => r.receipt.token))).toEqual(new Set(members.map((c) => c.token)));
    expect((await a.handler.store.messages.stats()).pushed).toBe(12);
    expect(outsider.received.items).toHaveLength(0);
    for (const c of members) expect(c.received.items).toHaveLength(1);
    // the in-process receipts carry the group too
    expect(delivered.filter((e) => e.group === 'zone:5')).toHaveLength(12);
  });

  it('membership ends with the session and with leaveGroup; a page lists each live member once', async () => {
    const { a, b } = await twoNodes('gend');
    const members = await clientsOn([a, b], 'e', 6);
    for (const c of members) await b.handler.joinGroup(c.token, 'chat.7');
    expect(await a.handler.leaveGroup('e0', 'chat.7')).toBe(true);
    expect(await a.handler.logout('e1')).toBe(true);
    expect(await a.handler.joinGroup('nobody', 'chat.7')).toBe(false);
    expect(await a.handler.leaveGroup('nobody', 'chat.7')).toBe(false);

    const listed: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await a.handler.getGroupMembers('chat.7', { cursor, limit: 2 });
      listed.push(...page.tokens);
      cursor = page.next;
    } while (cursor);
    expect(listed.sort()).toEqual(['e2', 'e3', 'e4', 'e5']);
    expect((await a.handler.pushToGroup('chat.7', 'hi')).recipients).toBe(4);
    await members[5]!.received.waitForCount(() => true, 1);
    expect(members[0]!.received.items).toHaveLength(0);
    expect(members[1]!.received.items).toHaveLength(0);
  });

  it('refuses malformed names, data and empty groups, changing nothing', async () => {
    const { a } = await twoNodes('gbad');
    await clientsOn([a], 'r', 1);
    await expect(a.handler.joinGroup('r0', 'bad name')).rejects.toBeInstanceOf(PushRejectedError);
    await expect(a.handler.joinGroup('r0', 'x'.repeat(129))).rejects.toBeInstanceOf(PushRejectedError);
    await expect(a.handler.pushToGroup('', 1)).rejects.toBeInstanceOf(PushRejectedError);
    await expect(a.handler.pushToGroup('ok', undefined)).rejects.toBeInstanceOf(PushRejectedError);
    expect(await a.handler.pushToGroup('nobody-here', 1)).toMatchObject({ recipients: 0 });
    for (let i = 0; i < 100; i++) await a.handler.joinGroup('r0', `g${i}`);
    await expect(a.handler.joinGroup('r0', 'g100')).rejects.toBeInstanceOf(GroupRefusedError);
    expect((await a.handler.store.messages.stats()).pushed).toBe(0);
  });

  it('refuses a push to a group above maxGroupSize (group_too_large), storing nothing', async () => {
    const { a } = await twoNodes('gbig');
    await clientsOn([a], 'big', 1);
    await a.handler.joinGroup('big0', 'huge');
    // members without sessions, written straight into the group's key: only the count matters here
    const fake = Array.from({ length: 10_000 }, (_, i) => [0, `fake-${i}`]).flat();
    await a.handler.store.redis.zadd(
      a.handler.store.keys.groupMembers(a.handler.store.keys.bucketOf('big0'), 'huge'),
      ...fake,
    );
    const refused = await a.handler.pushToGroup('huge', 1).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(GroupRefusedError);
    expect((refused as GroupRefusedError).reason).toBe('group_too_large');
    expect((await a.handler.store.messages.stats()).pushed).toBe(0);
  });
});

describe('pushes to several tokens in-process (CONTRACT §10)', () => {
  it('gives each token its own message with an id derived from the given one, in the order given', async () => {
    const { a, b } = await twoNodes('tok');
    const clients = await clientsOn([a, b], 't', 3);
    const results = await a.handler.pushToTokens(['t2', 'gone', 't0', 't1'], { n: 1 }, { id: 'batch-9' });
    expect(results).toEqual([
      { token: 't2', id: recipientMessageId('batch-9', 't2'), accepted: true },
      { token: 'gone', id: recipientMessageId('batch-9', 'gone'), accepted: false, reason: 'no_session' },
      { token: 't0', id: recipientMessageId('batch-9', 't0'), accepted: true },
      { token: 't1', id: recipientMessageId('batch-9', 't1'), accepted: true },
    ]);
    const again = await b.handler.pushToTokens(['t0', 't1', 't2'], { n: 1 }, { id: 'batch-9' });
    expect(again.every((r) => r.accepted && r.duplicate)).toBe(true);
    for (const c of clients) await c.received.waitForCount(() => true, 1);
    expect((await a.handler.store.messages.stats()).pushed).toBe(3);

    await expect(a.handler.pushToTokens([], 1)).rejects.toThrow(/tokens/);
    await expect(a.handler.pushToTokens(['t0', 't0'], 1)).rejects.toThrow(/twice/);
    const many = Array.from({ length: 1001 }, (_, i) => `u${i}`);
    await expect(a.handler.pushToTokens(many, 1)).rejects.toThrow(/tokens/);
    expect((await a.handler.store.messages.stats()).pushed).toBe(3);
  });
});

describe('group and multi-recipient queue jobs (CONTRACT §6, §10)', () => {
  it('PushQueue#pushToGroup and #push with an array reach every recipient once; a re-added job nothing twice', async () => {
    const { a, b, prefix } = await twoNodes('gq');
    const queue = new PushQueue({ connection: redisTarget(), prefix });
    deferCleanup(() => queue.close());
    const members = await clientsOn([a, b], 'q', 8);
    for (const c of members) await a.handler.joinGroup(c.token, 'drivers');

    const jobId = await queue.pushToGroup('drivers', { go: true }, { id: 'shift-1' });
    expect(jobId).toBe('g-drivers-shift-1');
    const receipts = await groupReceipts(prefix, 'drivers', 8);
    expect(new Set(receipts.map((r) => r.receipt.id)).size).toBe(8);
    expect(await queue.pushToGroup('drivers', { go: true }, { id: 'shift-1' })).toBe(jobId);

    await queue.push(['q0', 'q1', 'q2'], 'direct', { id: 'three' });
    for (const c of members.slice(0, 3)) await c.received.waitForCount((d) => d.data === 'direct', 1);
    await waitUntil(async () => (await a.handler.store.messages.stats()).pushed === 11);
    for (const c of members)
      expect(c.received.items.filter((d) => d.data === 'direct').length).toBeLessThan(2);

    await expect(queue.pushToGroup('no spaces', 1)).rejects.toThrow(TypeError);
    await expect(queue.push(['a', 'a'], 1)).rejects.toThrow(TypeError);
    await expect(queue.push([], 1)).rejects.toThrow(TypeError);
  });
});

describe('the JWT claim groups (CONTRACT §10)', () => {
  it('joins the session to the groups its credential names; a malformed claim is an invalid token', async () => {
    const { a, b } = await twoNodes('gjwt', true);
    const jwt = await signToken('driver-1', SECRET, '1h', { groups: ['zone:5', 'drivers'] });
    const client = new DeliveryClient({ token: jwt, v2: true });
    await client.connect(b.url);
    expect(await a.handler.store.groups.groupsOf('driver-1')).toEqual(
      expect.arrayContaining(['zone:5', 'drivers']),
    );
    expect((await a.handler.getGroupMembers('zone:5')).tokens).toEqual(['driver-1']);
    expect(await a.handler.pushToGroup('drivers', 'to drivers')).toMatchObject({ recipients: 1 });
    await client.received.waitForCount((d) => d.data === 'to drivers', 1);

    const bad = await signToken('driver-2', SECRET, '1h', { groups: ['bad name'] });
    const err = await connectError(a.url, { token: bad, v: 2, auth: true });
    expect(err.message).toBe('invalid_token');
    expect(await a.handler.getSession('driver-2')).toBeNull();
  });
});
