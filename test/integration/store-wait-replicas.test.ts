import { registerApi } from '@io-session/server';
import { StoreError, StoreErrorCode } from '@io-session/store';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { deferCleanup } from '../helpers/cleanup.js';
import { connectClient } from '../helpers/clients.js';
import { startInProcessNode } from '../helpers/in-process-node.js';
import { uniquePrefix } from '../helpers/prefix.js';
import { redisClient } from '../helpers/redis-client.js';
import { startRedis } from '../helpers/redis-server.js';
import { waitUntil } from '../helpers/wait.js';

const API_KEY = 'wait-test-key';

/** A private primary and one replica of it, replicating. */
async function primaryWithReplica() {
  const primary = await startRedis();
  const replica = await startRedis({ extraArgs: ['--replicaof', '127.0.0.1', String(primary.port)] });
  const admin = redisClient(primary.url);
  await waitUntil(async () => /connected_slaves:1/.test(await admin.info('replication')), {
    message: 'the replica is connected',
  });
  await waitUntil(
    async () => /master_link_status:up/.test(await redisClient(replica.url).info('replication')),
    { message: 'the replica is in sync' },
  );
  return { primary, replica };
}

describe('REDIS_WAIT_REPLICAS: a push counts as accepted only once that many replicas have it', () => {
  it('accepts while the replica answers WAIT in time, refuses with 503 while it is paused, accepts again after', async () => {
    const { primary, replica } = await primaryWithReplica();
    const node = await startInProcessNode({
      redis: primary.url,
      prefix: uniquePrefix('wait'),
      consumePushQueue: false,
      replicaAcks: 1,
      replicaTimeoutMs: 200,
    });
    const app = Fastify();
    registerApi(app, { handler: node.handler, apiKey: API_KEY });
    await app.ready();
    deferCleanup(() => app.close());
    const push = (data: unknown) =>
      app.inject({
        method: 'POST',
        url: '/v1/push',
        headers: { authorization: `Bearer ${API_KEY}` },
        payload: { token: 'lena', data },
      });
    await connectClient(node.url, { token: 'lena' });

    expect((await push({ n: 1 })).statusCode).toBe(202);

    process.kill(replica.child.pid, 'SIGSTOP');
    deferCleanup(() => {
      process.kill(replica.child.pid, 'SIGCONT');
    });
    const refused = await push({ n: 2 });
    expect(refused.statusCode).toBe(503);
    expect(refused.json()).toMatchObject({ error: { code: 'unavailable' } });
    expect(refused.json().error.message).toMatch(/0 of 1 replicas.*REDIS_WAIT_REPLICAS.*200 ms/);
    // in process, the same refusal: the promise rejects (the app retries), never a silent true
    await expect(node.handler.pushMessage('lena', { n: 3 })).rejects.toSatisfy(
      (err: unknown) => err instanceof StoreError && err.code === StoreErrorCode.NotReplicated,
    );

    process.kill(replica.child.pid, 'SIGCONT');
    await waitUntil(async () => (await push({ n: 4 })).statusCode === 202, {
      message: 'pushes are accepted again once the replica answers',
    });
  });
});
