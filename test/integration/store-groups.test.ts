import { canonicalJson, memberMessageId, recipientMessageId } from '@io-session/store';
import { describe, expect, it } from 'vitest';
import { uniquePrefix } from '../helpers/prefix.js';
import { openStore } from '../helpers/store.js';

const instance = 'nodeA~0001';

async function connectAll(store: ReturnType<typeof openStore>['store'], tokens: string[]): Promise<void> {
  for (const token of tokens)
    await store.sessions.connect({ token, socketId: `s-${token}`, instance, protocol: 2 });
}

describe('groups in the store (CONTRACT §10)', () => {
  it('joins live sessions only, lists each member once over pages, and a session’s end ends its memberships', async () => {
    const { store, redis } = openStore({ prefix: uniquePrefix('grp') });
    const tokens = Array.from({ length: 25 }, (_, i) => `u${i}`);
    await connectAll(store, tokens);
    for (const token of tokens) expect(await store.groups.join(token, 'zone:5')).toBe('joined');
    expect(await store.groups.join('u0', 'zone:5')).toBe('member');
    expect(await store.groups.join('nobody', 'zone:5')).toBe('no_session');
    expect(await store.groups.size('zone:5')).toBe(25);

    const listed: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await store.groups.members('zone:5', { cursor, limit: 4 });
      listed.push(...page.tokens);
      cursor = page.next;
    } while (cursor);
    expect(listed.sort()).toEqual([...tokens].sort());

    expect(await store.groups.leave('u1', 'zone:5')).toBe('left');
    expect(await store.groups.leave('u1', 'zone:5')).toBe('not_member');
    expect(await store.sessions.logout('u2')).not.toBeNull();
    expect(await store.groups.size('zone:5')).toBe(23);
    // nothing of the ended session is left in Redis: its groups set is gone with it
    expect(await redis.exists(store.keys.sessionGroups('u2'))).toBe(0);
    expect(await store.groups.join('u2', 'zone:5')).toBe('no_session');
  });

  it('a session whose grace runs out leaves its groups in the same step; one in an expired grace is never pushed to', async () => {
    const { store } = openStore({ prefix: uniquePrefix('ggrace'), buckets: 1 });
    await connectAll(store, ['a', 'b']);
    for (const t of ['a', 'b']) await store.groups.join(t, 'g');
    await store.sessions.disconnect({ token: 'a', socketId: 's-a', graceMs: 30 });
    await new Promise((resolve) => setTimeout(resolve, 60));
    // the grace has run out but no sweeper ended it yet: listed, and refused by the push, never stored
    const pushed = await store.groups.push({ group: 'g', text: '1', id: 'x', ttlMs: 1000 });
    expect(pushed.find((m) => m.token === 'a')?.result).toEqual({ stored: false, reason: 'no_session' });
    expect(await store.groups.join('a', 'other')).toBe('no_session');
    expect(await store.sessions.expireDue(0)).toHaveLength(1);
    expect((await store.groups.members('g')).tokens).toEqual(['b']);
  });

  it('bounds a group’s members in a bucket (join-group-1: -7, changing nothing)', async () => {
    const { store, redis } = openStore({ prefix: uniquePrefix('gfull'), buckets: 1 });
    await connectAll(store, ['f0', 'f1', 'f2']);
    const join = (token: string): Promise<unknown> => {
      const k = store.keys.session(token);
      // the script with a bound of 2 members (storeDefaults.maxGroupSize is 10,000)
      const command = (redis as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)
        .iosJoinGroup!;
      return command.call(redis, k.session, k.tag, token, 'small', 100, 2);
    };
    expect(await join('f0')).toBe(1);
    expect(await join('f1')).toBe(1);
    expect(await join('f2')).toBe(-7);
    expect(await join('f0')).toBe(2);
    expect((await store.groups.members('small')).tokens).toEqual(['f0', 'f1']);
    expect(await store.groups.groupsOf('f2')).toEqual([]);
  });

  it('a group push stores one message per member, with derived ids: a retried push stores nothing twice', async () => {
    const { store } = openStore({ prefix: uniquePrefix('gpush') });
    const tokens = Array.from({ length: 30 }, (_, i) => `m${i}`);
    await connectAll(store, tokens);
    for (const token of tokens) await store.groups.join(token, 'chat.1');
    const input = { group: 'chat.1', text: canonicalJson({ hi: 1 }), id: 'p-1', ttlMs: 60_000 };

    const first = await store.groups.push(input);
    expect(first.map((m) => m.token).sort()).toEqual([...tokens].sort());
    for (const m of first) {
      expect(m.result).toMatchObject({ stored: true, duplicate: false, seq: 1 });
      if (m.result.stored) expect(m.result.id).toBe(memberMessageId('p-1', m.token, 'chat.1'));
    }
    const again = await store.groups.push(input);
    expect(again.every((m) => m.result.stored && m.result.duplicate)).toBe(true);
    expect((await store.messages.stats()).pushed).toBe(30);
    expect(recipientMessageId('p-1', 'm0')).toMatch(/^p-1\/[0-9a-f]{16}$/);

    // each member acknowledges its own message: one receipt each, carrying the group
    const receipts: unknown[] = [];
    store.acks.onReceipts = (item) => receipts.push(...item.receipts);
    await store.acks.ackMany(
      first.map((m) => ({
        token: m.token,
        seq: 1,
        id: m.result.stored ? m.result.id : '',
        data: { hi: 1 },
        nodeId: 'nodeA',
        socketId: `s-${m.token}`,
      })),
    );
    expect(receipts).toHaveLength(30);
    expect(receipts[0]).toMatchObject({ group: 'chat.1', data: { hi: 1 } });
    expect((await store.messages.stats()).delivered).toBe(30);
  });

  it('pages a group push of more members than one call holds, and bounds the groups of a session', async () => {
    const { store } = openStore({ prefix: uniquePrefix('gbig'), buckets: 1 });
    const tokens = Array.from({ length: 1200 }, (_, i) => `b${i}`);
    await connectAll(store, tokens);
    await Promise.all(tokens.map((t) => store.groups.join(t, 'big')));
    const results = await store.groups.push({ group: 'big', text: '1', id: 'big-1', ttlMs: 60_000 });
    expect(results).toHaveLength(1200);
    expect(new Set(results.map((r) => r.token)).size).toBe(1200);
    expect(results.filter((r) => r.result.stored && !r.result.duplicate)).toHaveLength(1200);

    // b0 is in 'big' already: 99 more make the 100 a session may have
    for (let i = 0; i < 99; i++) expect(await store.groups.join('b0', `g${i}`)).toBe('joined');
    expect(await store.groups.join('b0', 'one-too-many')).toBe('too_many_groups');
    expect(await store.groups.push({ group: 'empty', text: '1', id: 'e-1', ttlMs: 1000 })).toEqual([]);
  });
});
