import { describe, expect, it } from 'vitest';
import { DeliveryClient } from '../helpers/delivery.js';
import { startNodes } from '../helpers/node-process.js';
import { uniquePrefix } from '../helpers/prefix.js';
import { startRedis } from '../helpers/redis-server.js';
import { sessionGone, sessionWhere } from '../helpers/sessions-api.js';
import { openStore } from '../helpers/store.js';

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('a node closed while Redis stalls', () => {
  it('leaves what it could not unregister to a survivor: no registration outlives the node', async () => {
    const redis = await startRedis();
    const prefix = uniquePrefix('flap');
    const env = {
      HEARTBEAT_MS: '200',
      HEARTBEAT_TTL_MS: '1000',
      SESSION_TIMEOUT_MS: '1000',
      DRAIN_MS: '100',
    };
    const [closing, survivor] = await startNodes(2, { redisUrl: redis.url, prefix, env });
    const kept = new DeliveryClient({ token: 'kept', v2: true });
    await kept.connect(closing!.url);
    await sessionWhere(survivor!.url, 'kept', (s) => s.connections.length === 1);

    // Redis stalls: a handshake's registration is sent and waits, the node is asked to stop meanwhile, and the
    // registration lands after the node's drain closed its clients.
    redis.child.proc.kill('SIGSTOP');
    const late = new DeliveryClient({ token: 'late', v2: true, timeout: 20_000 });
    const connecting = late.connect(closing!.url);
    await pause(500);
    closing!.proc.kill('SIGTERM');
    await pause(1500);
    redis.child.proc.kill('SIGCONT');
    await connecting.catch(() => undefined);
    expect(await closing!.exited).toBe(0);

    // Whatever the closing node left registered, a survivor reaps: both sessions end after their grace.
    await sessionGone(survivor!.url, 'kept', 15_000);
    await sessionGone(survivor!.url, 'late', 15_000);
    const { store, redis: r } = openStore({ prefix, url: redis.url, buckets: 1 });
    expect(await r.zcard(store.keys.liveNodes)).toBe(1);
  });
});
