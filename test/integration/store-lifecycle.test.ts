import { type EventItem } from '@io-session/store';
import { describe, expect, it } from 'vitest';
import { uniquePrefix } from '../helpers/prefix.js';
import { openStore } from '../helpers/store.js';
import { waitUntil } from '../helpers/wait.js';

const instance = 'nodeA~0001';

describe('SessionStore lifecycle on a real Redis', () => {
  it('starts a session once, joins it, and keeps its sid through a grace that is cancelled', async () => {
    const { store } = openStore({ prefix: uniquePrefix('life') });
    const first = await store.sessions.connect({ token: 'alice', socketId: 's1', instance, protocol: 1 });
    expect(first.started).toBe(true);
    expect(first.events.map((e) => e.event.type)).toEqual(['session.started']);
    const second = await store.sessions.connect({ token: 'alice', socketId: 's2', instance, protocol: 2 });
    expect(second).toMatchObject({ started: false, sid: first.sid, events: [], duplicate: false });
    const retried = await store.sessions.connect({ token: 'alice', socketId: 's2', instance, protocol: 2 });
    expect(retried).toMatchObject({ duplicate: true, sid: first.sid, events: [] });

    expect(await store.sessions.disconnect({ token: 'alice', socketId: 's1', graceMs: 60_000 })).toBe(
      'remaining',
    );
    expect(await store.sessions.disconnect({ token: 'alice', socketId: 's2', graceMs: 60_000 })).toBe(
      'grace',
    );
    expect(await store.sessions.disconnect({ token: 'alice', socketId: 's2', graceMs: 60_000 })).toBe(
      'unknown',
    );
    const inGrace = await store.reads.getSession('alice');
    expect(inGrace).toMatchObject({ sid: first.sid, status: 'grace', connections: [] });
    expect(inGrace!.graceUntil).toBeGreaterThan(Date.now() + 50_000);

    const back = await store.sessions.connect({ token: 'alice', socketId: 's3', instance, protocol: 1 });
    expect(back).toMatchObject({ started: false, sid: first.sid, events: [] });
    const resumed = await store.reads.getSession('alice');
    expect(resumed).toMatchObject({ sid: first.sid, status: 'connected' });
    expect(resumed!.graceUntil).toBeUndefined();
    expect(resumed!.connections).toEqual([{ id: 's3', instance, nodeId: 'nodeA', protocol: 1 }]);
  });

  it('ends a session whose grace ran out exactly once among concurrent sweepers', async () => {
    const prefix = uniquePrefix('once');
    const sweepers = Array.from({ length: 4 }, () => openStore({ prefix }).store);
    const [store] = sweepers;
    const tokens = Array.from({ length: 40 }, (_, i) => `u${i}`);
    for (const token of tokens) {
      await store!.sessions.connect({ token, socketId: `sock-${token}`, instance, protocol: 1 });
      await store!.sessions.disconnect({ token, socketId: `sock-${token}`, graceMs: 150 });
    }
    const ended: EventItem[] = [];
    await waitUntil(
      async () => {
        const rounds = await Promise.all(
          sweepers.flatMap((s) =>
            Array.from({ length: s.keys.bucketCount }, (_, b) => s.sessions.expireDue(b)),
          ),
        );
        ended.push(...rounds.flat());
        return ended.length >= tokens.length;
      },
      { timeout: 5000, interval: 20, message: 'every session ended' },
    );
    // a few more rounds: nobody may end anything again
    for (let i = 0; i < 3; i++) {
      const late = await Promise.all(
        sweepers.flatMap((s) =>
          Array.from({ length: s.keys.bucketCount }, (_, b) => s.sessions.expireDue(b)),
        ),
      );
      ended.push(...late.flat());
    }
    expect(ended.map((e) => e.event.token).sort()).toEqual([...tokens].sort());
    for (const e of ended)
      expect(e.event).toMatchObject({ type: 'session.ended', status: 0, reason: 'grace' });
    expect(ended.find((e) => e.event.token === 'u7')!.event.id).toBe('sock-u7');
    expect(await store!.reads.countSessions()).toBe(0);
    expect(await store!.reads.getSession('u0')).toBeNull();
  });

  it('a connection arriving after an unswept grace ends the old lifetime and starts a new one', async () => {
    const { store } = openStore({ prefix: uniquePrefix('late') });
    const first = await store.sessions.connect({ token: 'bob', socketId: 'a', instance, protocol: 1 });
    await store.sessions.disconnect({ token: 'bob', socketId: 'a', graceMs: 1 });
    const session = await waitUntil(async () => {
      const s = await store.reads.getSession('bob');
      return s && s.graceUntil !== undefined && s.graceUntil < Date.now() - 5 ? s : null;
    });
    expect(session.sid).toBe(first.sid);
    const again = await store.sessions.connect({ token: 'bob', socketId: 'b', instance, protocol: 1 });
    expect(again.started).toBe(true);
    expect(again.sid).not.toBe(first.sid);
    expect(again.events.map((e) => [e.event.type, e.event.sid])).toEqual([
      ['session.ended', first.sid],
      ['session.started', again.sid],
    ]);
    // the sweeper finds nothing left to end
    expect(await store.sessions.expireDue(store.keys.bucketOf('bob'))).toEqual([]);
  });

  it('reaps only the dead instance’s connections and starts the grace when none is left', async () => {
    const { store } = openStore({ prefix: uniquePrefix('reap') });
    await store.sessions.connect({ token: 'carol', socketId: 'x1', instance: 'dead~1', protocol: 1 });
    await store.sessions.connect({ token: 'carol', socketId: 'x2', instance: 'dead~1', protocol: 1 });
    await store.sessions.connect({ token: 'carol', socketId: 'y1', instance: 'alive~2', protocol: 1 });
    await store.sessions.connect({ token: 'dave', socketId: 'z1', instance: 'dead~1', protocol: 1 });

    expect(
      await store.sessions.reapConnections({ token: 'carol', instance: 'dead~1', graceMs: 60_000 }),
    ).toBe(2);
    expect(
      await store.sessions.reapConnections({ token: 'carol', instance: 'dead~1', graceMs: 60_000 }),
    ).toBe(0);
    expect((await store.reads.getSession('carol'))!.connections.map((c) => c.id)).toEqual(['y1']);

    expect(await store.sessions.reapConnections({ token: 'dave', instance: 'dead~1', graceMs: 60_000 })).toBe(
      1,
    );
    expect(await store.reads.getSession('dave')).toMatchObject({ status: 'grace', connections: [] });
  });

  it('logs out once, and refuses data for a session that does not exist', async () => {
    const { store } = openStore({ prefix: uniquePrefix('out') });
    const { sid } = await store.sessions.connect({ token: 'erin', socketId: 'e1', instance, protocol: 1 });
    expect(await store.sessions.setData('erin', { theme: 'dark' })).toBe(true);
    expect((await store.reads.getSession('erin'))!.data).toEqual({ theme: 'dark' });
    const ended = await store.sessions.logout('erin');
    expect(ended!.event.event).toMatchObject({ type: 'session.ended', sid, reason: 'logout', token: 'erin' });
    expect(ended!.holders).toEqual([instance]);
    expect(await store.sessions.logout('erin')).toBeNull();
    expect(await store.sessions.setData('erin', 1)).toBe(false);
    expect(await store.reads.getSession('erin')).toBeNull();
  });

  it('pages through every session exactly once whatever the page size', async () => {
    const { store } = openStore({ prefix: uniquePrefix('page'), buckets: 8 });
    const tokens = Array.from({ length: 300 }, (_, i) => `tok-${i.toString().padStart(3, '0')}`);
    await Promise.all(
      tokens.map((token) => store.sessions.connect({ token, socketId: `s-${token}`, instance, protocol: 1 })),
    );
    for (const limit of [1, 7, 64, 299, 300, 1000]) {
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page = await store.reads.getSessions({ cursor, limit });
        expect(page.sessions.length).toBeLessThanOrEqual(limit);
        seen.push(...page.sessions.map((s) => s.token));
        cursor = page.next;
        pages += 1;
        expect(pages).toBeLessThan(400);
      } while (cursor !== null);
      expect(seen.length).toBe(tokens.length);
      expect(new Set(seen).size).toBe(tokens.length);
      expect([...seen].sort()).toEqual(tokens);
    }
    expect(await store.reads.countSessions()).toBe(300);
  });
});
