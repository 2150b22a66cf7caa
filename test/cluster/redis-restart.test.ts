import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { api, connectClient, nextEvent } from '../helpers/clients.js';
import { startNode, TEST_API_KEY } from '../helpers/node-process.js';
import { uniquePrefix } from '../helpers/prefix.js';
import { startRedis } from '../helpers/redis-server.js';
import { sessionWhere } from '../helpers/sessions-api.js';
import { waitUntil } from '../helpers/wait.js';

async function readyz(url: string): Promise<number> {
  return (await api(url, '/readyz')).status;
}

describe('Redis stopped and started again under a running node', () => {
  it('keeps the node alive, turns /readyz and the API 503 and back, and serves new sessions afterwards', async () => {
    const redis = await startRedis();
    const node = await startNode({ redisUrl: redis.url, prefix: uniquePrefix('outage') });
    // a client that reconnects by itself, as socket.io-client does by default
    const before = await connectClient(node.url, { token: 'before', reconnection: true });
    await sessionWhere(node.url, 'before', (s) => s.connections.length === 1);

    await redis.stop();
    await waitUntil(async () => (await readyz(node.url)) === 503, {
      timeout: 10_000,
      message: '/readyz 503',
    });
    expect((await api(node.url, '/healthz')).status).toBe(200);
    const during = await api<{ error: { code: string } }>(node.url, '/v1/sessions/before', {
      apiKey: TEST_API_KEY,
    });
    expect(during.status).toBe(503);
    expect(during.body.error.code).toBe('unavailable');
    const list = await api(node.url, '/v1/sessions', { apiKey: TEST_API_KEY });
    expect(list.status).toBe(503);

    await redis.restart();
    await waitUntil(async () => (await readyz(node.url)) === 200, {
      timeout: 15_000,
      message: '/readyz 200 again',
    });
    expect(node.proc.exitCode).toBeNull();

    const after = await connectClient(node.url, { token: 'after' });
    const session = await sessionWhere(node.url, 'after', (s) => s.connections.length === 1);
    expect(session.connections).toMatchObject([{ id: after.id, nodeId: node.nodeId }]);
    after.emit('client_data', { token: 'after', data: { back: true } });
    await sessionWhere(node.url, 'after', (s) => JSON.stringify(s.data) === '{"back":true}');

    // The client connected through the outage has its session again (this Redis lost every key): either the
    // node registered it afresh, or it dropped it in a way that makes socket.io-client reconnect by itself.
    const resumed = await sessionWhere(node.url, 'before', (s) => s.connections.length === 1, 15_000).catch(
      (err: Error) =>
        new Error(
          `${err.message}; client connected=${before.connected} active=${before.active}; node said:\n` +
            node
              .output()
              .split('\n')
              .filter((line) => /dead|fenc|drop/i.test(line))
              .join('\n'),
        ),
    );
    if (resumed instanceof Error) throw resumed;
    expect(resumed.connections).toMatchObject([{ nodeId: node.nodeId }]);
    expect(node.proc.exitCode).toBeNull();
  });

  it('resumes the sessions it had when Redis comes back with its data', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ios-redis-aof-'));
    const redis = await startRedis({
      extraArgs: ['--appendonly', 'yes', '--appendfsync', 'always', '--dir', dir],
    });
    const node = await startNode({
      redisUrl: redis.url,
      prefix: uniquePrefix('resume'),
      env: { SESSION_TIMEOUT_MS: '1000' },
    });
    const client = await connectClient(node.url, { token: 'kept' });
    const clientId = client.id!;
    client.emit('client_data', { token: 'kept', data: 'v1' });
    const session = await sessionWhere(
      node.url,
      'kept',
      (s) => s.data === 'v1' && s.connections.length === 1,
    );

    await redis.stop();
    await waitUntil(async () => (await readyz(node.url)) === 503, { timeout: 10_000 });
    await redis.restart();
    await waitUntil(async () => (await readyz(node.url)) === 200, { timeout: 15_000 });

    const resumed = await sessionWhere(node.url, 'kept', () => true);
    expect(resumed).toMatchObject({
      sid: session.sid,
      data: 'v1',
      connections: [{ id: clientId, nodeId: node.nodeId }],
    });
    expect(client.connected).toBe(true);
    // the same connection keeps working
    client.emit('client_data', { token: 'kept', data: 'v2' });
    await sessionWhere(node.url, 'kept', (s) => s.data === 'v2');
    // and its session still ends after its grace when it leaves
    const gone = nextEvent(client, 'disconnect');
    client.disconnect();
    await gone;
    await waitUntil(
      async () => (await api(node.url, '/v1/sessions/kept', { apiKey: TEST_API_KEY })).status === 404,
      {
        timeout: 10_000,
      },
    );
  });
});
