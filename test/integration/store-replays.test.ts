import type { SessionStore } from '@io-session/store';
import { describe, expect, it } from 'vitest';
import { uniquePrefix } from '../helpers/prefix.js';
import { openStore } from '../helpers/store.js';
import { waitUntil } from '../helpers/wait.js';

/**
 * ioredis resends a command whose reply it did not get after a reconnect, so a script may run twice with the same
 * arguments, the caller hearing only the second answer. Each test here runs a script call twice with identical
 * arguments and counts the effect in Redis itself (the outbox, the pending hash, the session hash).
 */
const instance = 'nodeA~0001';

async function pushAll(store: SessionStore, token: string, texts: string[]): Promise<string[]> {
  const results = await store.pushes.push(texts.map((text) => ({ token, text, ttlMs: 60_000 })));
  return results.map((r) => (r.stored ? r.id : `refused:${r.reason}`));
}

async function outboxEvents(store: SessionStore, token: string): Promise<{ entry: string; type: string }[]> {
  const entries = await store.redis.xrange(store.keys.session(token).outbox, '-', '+');
  return entries.flatMap(([entry, fields]) => {
    if (fields[0] !== 'e') return [];
    const event = JSON.parse(fields[1] ?? '{}') as { type: string; token: string };
    return event.token === token ? [{ entry, type: event.type }] : [];
  });
}

describe('every script answers a replay as it answered the first run, and applies nothing twice', () => {
  it('a replayed connect that started the session returns its session.started event, and the pending messages', async () => {
    const { store } = openStore({ prefix: uniquePrefix('rconn') });
    const k = store.keys.session('carol');
    const args = {
      token: 'carol',
      socketId: 's1',
      instance,
      protocol: 1,
      sid: 'sid-one',
      page: 100,
      scan: 4000,
    };
    const first = await store.scripts.connect(k, args, store.status);
    const replay = await store.scripts.connect(k, args, store.status);
    expect(first.code).toBe(1);
    expect(replay.code).toBe(3);
    // the caller only hears the replay: it must still learn that the session started, and from which entry
    expect(replay.startedEntry).toBe(first.startedEntry);
    expect(replay.startedEntry).not.toBe('');
    expect(await outboxEvents(store, 'carol')).toEqual([
      { entry: first.startedEntry, type: 'session.started' },
    ]);

    const ids = await pushAll(store, 'carol', ['"a"', '"b"', '"c"']);
    const joinArgs = { ...args, socketId: 's2', sid: 'unused' };
    const joined = await store.scripts.connect(k, joinArgs, store.status);
    const rejoined = await store.scripts.connect(k, joinArgs, store.status);
    expect(joined.code).toBe(0);
    expect(rejoined.code).toBe(3);
    expect(rejoined.pending.map((m) => m.id)).toEqual(ids);
    expect(rejoined.startedEntry).toBe('');
    expect(await store.redis.hget(k.session, 'n')).toBe('2');
  });

  it('a replayed connect that ended an unswept lifetime answers both events; the store reports it started', async () => {
    const { store } = openStore({ prefix: uniquePrefix('rconn2') });
    const input = { token: 'dave', socketId: 'a', instance, protocol: 1 as const };
    const old = await store.sessions.connect(input);
    await store.sessions.disconnect({ token: 'dave', socketId: 'a', graceMs: 1 });
    await waitUntil(async () => {
      const s = await store.reads.getSession('dave');
      return s !== null && s.graceUntil !== undefined && s.graceUntil < Date.now() - 5;
    });
    const k = store.keys.session('dave');
    const args = {
      token: 'dave',
      socketId: 'b',
      instance,
      protocol: 1,
      sid: 'sid-new',
      page: 100,
      scan: 4000,
    };
    const first = await store.scripts.connect(k, args, store.status);
    expect(first.code).toBe(2);
    expect(first.ended.sid).toBe(old.sid);
    const replay = await store.scripts.connect(k, args, store.status);
    expect(replay).toMatchObject({
      code: 3,
      ended: first.ended,
      startedEntry: first.startedEntry,
      prevSid: old.sid,
    });
    const again = await store.sessions.connect({ ...input, socketId: 'b' });
    expect(again).toMatchObject({ duplicate: true, started: true, sid: 'sid-new' });
    expect(again.events.map((e) => [e.event.type, e.entryId])).toEqual([
      ['session.ended', first.ended.entry],
      ['session.started', first.startedEntry],
    ]);
    expect((await outboxEvents(store, 'dave')).map((e) => e.type)).toEqual([
      'session.started',
      'session.ended',
      'session.started',
    ]);
  });

  it('a replayed logout answers what the first run did (not "no session"), with the holders to route it to', async () => {
    const { store } = openStore({ prefix: uniquePrefix('rlogout') });
    await store.sessions.connect({ token: 'erin', socketId: 's1', instance, protocol: 2 });
    const first = await store.sessions.logout('erin', 'request-1');
    const replay = await store.sessions.logout('erin', 'request-1');
    expect(first).not.toBeNull();
    expect(replay!.event.entryId).toBe(first!.event.entryId);
    expect(replay!.holders).toEqual([instance]);
    expect(replay!.event.event).toMatchObject({
      type: 'session.ended',
      reason: 'logout',
      sid: first!.event.event.sid,
    });
    expect((await outboxEvents(store, 'erin')).map((e) => e.type)).toEqual([
      'session.started',
      'session.ended',
    ]);
    // another logout (another request) of a session that is gone: none
    expect(await store.sessions.logout('erin', 'request-2')).toBeNull();
  });

  it('a replayed receipt by data settles one message, not a second one with equal data', async () => {
    const { store } = openStore({ prefix: uniquePrefix('rabd') });
    await store.sessions.connect({ token: 'fred', socketId: 's1', instance, protocol: 1 });
    const ids = await pushAll(store, 'fred', ['{"n":1}', '{"n":1}', '{"n":2}']);
    const k = store.keys.session('fred');
    const head = '{"token":"fred","nodeId":"nodeA","socketId":"s1"';
    const args = { token: 'fred', text: '{"n":1}', head, scan: 64, ratePerSec: 20, socketId: 's1', call: 1 };
    const first = await store.scripts.ackByData(k, args, store.status);
    const replay = await store.scripts.ackByData(k, args, store.status);
    expect(first).toMatchObject({ id: ids[0], seq: 1 });
    expect(replay).toEqual(first);
    // counted at the source: the second message with equal data is still pending, one receipt in the outbox
    const page = await store.inbox.read('fred', 0);
    expect(page!.pending.map((m) => m.id)).toEqual([ids[1], ids[2]]);
    const receipts = (await store.redis.xrange(k.outbox, '-', '+')).filter(([, f]) => f[0] === 'r');
    expect(receipts).toHaveLength(1);
    // the connection's next receipt (a new call) settles the second one
    const next = await store.scripts.ackByData(k, { ...args, call: 2 }, store.status);
    expect(next).toMatchObject({ id: ids[1], seq: 2 });
    // an old call replayed late, its answer no longer kept: changes nothing
    for (let call = 3; call <= 12; call++)
      await store.scripts.ackByData(k, { ...args, text: '"none"', call }, store.status);
    expect(await store.scripts.ackByData(k, { ...args, call: 2 }, store.status)).toBe('replayed');
    expect((await store.inbox.read('fred', 0))!.pending.map((m) => m.id)).toEqual([ids[2]]);
    // a receipt from a socket that is not a connection of the session settles nothing
    const foreign = { ...args, text: '{"n":2}', socketId: 'gone', call: 1 };
    expect(await store.scripts.ackByData(k, foreign, store.status)).toBe('none');
  });

  it('a replayed acknowledgement answers "already delivered" and appends no second receipt', async () => {
    const { store } = openStore({ prefix: uniquePrefix('rack') });
    await store.sessions.connect({ token: 'ida', socketId: 's1', instance, protocol: 2 });
    const [id] = await pushAll(store, 'ida', ['"x"']);
    const b = store.keys.session('ida');
    const head = `{"id":${JSON.stringify(id)},"token":"ida","nodeId":"nodeA","socketId":"s1"`;
    const call = [{ tag: b.tag, route: b.route, acks: [{ token: 'ida', seq: 1, id: id!, head }] }];
    const first = await store.scripts.ack(call, store.status);
    const replay = await store.scripts.ack(call, store.status);
    expect(first.replies).toEqual([{ code: 1, at: first.now }]);
    expect(first.entry).not.toBe('');
    expect(replay.replies).toEqual([{ code: 0, at: first.now }]);
    expect(replay.entry).toBe('');
    const receipts = (await store.redis.xrange(b.outbox, '-', '+')).filter(([, f]) => f[0] === 'a');
    expect(receipts).toHaveLength(1);
  });

  it('a replayed disconnect moves neither the connection count nor the grace deadline', async () => {
    const { store } = openStore({ prefix: uniquePrefix('rdisc') });
    await store.sessions.connect({ token: 'gina', socketId: 's1', instance, protocol: 1 });
    await store.sessions.connect({ token: 'gina', socketId: 's2', instance, protocol: 1 });
    const k = store.keys.session('gina');
    const two = { token: 'gina', socketId: 's2', graceMs: 60_000 };
    expect(await store.scripts.disconnect(k, two)).toBe(0);
    expect(await store.scripts.disconnect(k, two)).toBe(-1);
    expect(await store.redis.hget(k.session, 'n')).toBe('1');
    const one = { token: 'gina', socketId: 's1', graceMs: 60_000 };
    expect(await store.scripts.disconnect(k, one)).toBe(1);
    const deadline = await store.redis.zscore(k.due, 'gina');
    expect(await store.scripts.disconnect(k, one)).toBe(-1);
    expect(await store.redis.hget(k.session, 'n')).toBe('0');
    expect(await store.redis.zscore(k.due, 'gina')).toBe(deadline);
    expect(await store.redis.hget(k.session, 'g')).toBe(deadline);
  });

  it('a session whose grace ran out but was not swept yet accepts no push, like one that does not exist', async () => {
    const { store } = openStore({ prefix: uniquePrefix('rlapse') });
    await store.sessions.connect({ token: 'hank', socketId: 's1', instance, protocol: 1 });
    await store.sessions.disconnect({ token: 'hank', socketId: 's1', graceMs: 1 });
    const k = store.keys.session('hank');
    await waitUntil(async () => {
      const [[, time]] = (await store.redis.multi().time().exec()) as [[null, [string, string]]];
      return Number(time[0]) * 1000 > Number(await store.redis.hget(k.session, 'g')) + 5;
    });
    // no sweeper ran: the session is still in Redis
    expect(await store.redis.exists(k.session)).toBe(1);
    const [refused] = await store.pushes.push([{ token: 'hank', text: '"late"', ttlMs: 60_000 }]);
    expect(refused).toEqual({ stored: false, reason: 'no_session' });
    const [withId] = await store.pushes.push([{ token: 'hank', text: '"late"', ttlMs: 60_000, id: 'app-1' }]);
    expect(withId).toEqual({ stored: false, reason: 'no_session' });
    expect(await store.redis.hlen(k.pending)).toBe(0);
  });
});
