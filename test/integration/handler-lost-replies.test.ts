import type { Socket } from 'socket.io-client';
import { describe, expect, it } from 'vitest';
import { collect, connectClient, connectError, nextEvent } from '../helpers/clients.js';
import { startInProcessNode } from '../helpers/in-process-node.js';
import { uniquePrefix } from '../helpers/prefix.js';
import { dropPrefixAfterwards, redisClient, SHARED_REDIS_URL } from '../helpers/redis-client.js';
import { waitUntil } from '../helpers/wait.js';

const GRACE_MS = 300;

async function node(prefix: string) {
  return startInProcessNode({ redis: SHARED_REDIS_URL, prefix, timeout: GRACE_MS, consumePushQueue: false });
}

describe('a node whose Redis replies are lost or replayed', () => {
  it('undoes a connect that ran in Redis but whose caller saw an error: status 1 then 0, the session ends after its grace', async () => {
    const prefix = uniquePrefix('lostconn');
    dropPrefixAfterwards(prefix);
    const a = await node(prefix);
    const { sessions, reads } = a.handler.store;
    const connect = sessions.connect.bind(sessions);
    // once: the script runs, then the reply is lost (the caller sees an error)
    sessions.connect = async (input) => {
      sessions.connect = connect;
      await connect(input);
      throw new Error('Connection is closed (reply lost)');
    };
    const refused = await connectError(a.url, { token: 'ivy' });
    expect(refused.message).toBe('unavailable');
    // counted in Redis: the connection registered by the lost call goes, the grace runs out, the session ends
    await waitUntil(async () => (await reads.getSession('ivy')) === null, {
      timeout: GRACE_MS + 5000,
      message: 'the session of a failed connect ended',
    });
    // the lifetime the lost call started is heard of once, start and end, in order (the undo publishes the start)
    await a.events.waitForCount((e) => e.token === 'ivy', 2, 5000);
    expect(a.events.filter((e) => e.token === 'ivy').map((e) => e.status)).toEqual([1, 0]);
    // and the node still takes the next connection of that token
    const client = await connectClient(a.url, { token: 'ivy' });
    expect((await reads.getSession('ivy'))?.connections).toHaveLength(1);
    client.disconnect();
  });

  it('a routed logout ends only its own lifetime: a session started again right after it stays', async () => {
    const prefix = uniquePrefix('lifelogout');
    dropPrefixAfterwards(prefix);
    const [a, b] = [await node(prefix), await node(prefix)];
    const { reads } = b.handler.store;
    const first = await connectClient(b.url, { token: 'jack' });
    const old = (await reads.getSession('jack'))!;
    const instance = old.connections[0]!.instance;
    const loggedOut = nextEvent(first, 'logout');
    expect(await a.handler.logout('jack')).toBe(true);
    await loggedOut;

    const again: Socket = await connectClient(b.url, { token: 'jack' });
    const logouts = collect(again, 'logout');
    const pushes = collect(again, 'push_message');
    expect((await reads.getSession('jack'))!.sid).not.toBe(old.sid);
    const marker = await connectClient(b.url, { token: 'kate' });
    const kate = (await reads.getSession('kate'))!.sid;
    // The first logout's packet arrives (again, or late) after the new lifetime started; then, from the same
    // publisher (so after it), a logout of another session: once that one is heard, the first was handled.
    const pub = redisClient(SHARED_REDIS_URL);
    const channel = b.handler.store.keys.routeChannel(instance);
    const markerOut = nextEvent(marker, 'logout');
    await pub.spublish(channel, JSON.stringify({ logout: { token: 'jack', sid: old.sid } }));
    await pub.spublish(channel, JSON.stringify({ logout: { token: 'kate', sid: kate } }));
    await markerOut;
    // the new lifetime is still connected and served
    expect(await a.handler.pushMessage('jack', { after: 'logout' })).toBe(true);
    await pushes.waitFor((args) => JSON.stringify(args[0]) === '{"after":"logout"}', 5000);
    expect(again.connected).toBe(true);
    expect(logouts.items).toHaveLength(0);
    expect((await reads.getSession('jack'))?.status).toBe('connected');
  });
});
