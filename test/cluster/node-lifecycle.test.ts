import { describe, expect, it } from 'vitest';
import { api, connectClient, nextEvent } from '../helpers/clients.js';
import { runCli, startNode, TEST_API_KEY } from '../helpers/node-process.js';
import { uniquePrefix } from '../helpers/prefix.js';
import { dropPrefixAfterwards, redisClient, SHARED_REDIS_URL } from '../helpers/redis-client.js';
import { startRedis } from '../helpers/redis-server.js';
import { getSession, sessionWhere } from '../helpers/sessions-api.js';
import { waitUntil } from '../helpers/wait.js';

describe('the node command', () => {
  it('serves health, readiness and the session API behind the API key', async () => {
    const prefix = uniquePrefix('api');
    dropPrefixAfterwards(prefix);
    const node = await startNode({ redisUrl: SHARED_REDIS_URL, prefix });
    expect((await api(node.url, '/healthz')).status).toBe(200);
    expect((await api(node.url, '/readyz')).status).toBe(200);

    for (const apiKey of [null, 'wrong-key-0123456789abcdef']) {
      for (const path of ['/v1/sessions', '/v1/sessions/anyone']) {
        const res = await api<{ error: { code: string } }>(node.url, path, { apiKey });
        expect(res.status, `${path} with ${apiKey}`).toBe(401);
        expect(res.body.error.code).toBe('unauthorized');
      }
      expect((await api(node.url, '/v1/sessions/anyone', { method: 'DELETE', apiKey })).status).toBe(401);
    }

    expect((await getSession(node.url, 'nobody')).status).toBe(404);
    expect(
      (await api(node.url, '/v1/sessions/nobody', { method: 'DELETE', apiKey: TEST_API_KEY })).status,
    ).toBe(404);
    const badCursor = await api<{ error: { code: string } }>(node.url, '/v1/sessions?cursor=garbage', {
      apiKey: TEST_API_KEY,
    });
    expect(badCursor.status).toBe(400);
    expect(badCursor.body.error.code).toEqual(expect.any(String));

    const client = await connectClient(node.url, { token: 'listed' });
    const clientId = client.id!;
    const session = await sessionWhere(node.url, 'listed', (s) => s.connections.length === 1);
    expect(session).toMatchObject({
      token: 'listed',
      status: 'connected',
      data: null,
      connections: [{ id: clientId, nodeId: node.nodeId }],
    });
    const list = await api<{ sessions: { token: string }[]; next: string | null }>(
      node.url,
      '/v1/sessions?limit=10',
      {
        apiKey: TEST_API_KEY,
      },
    );
    expect(list.status).toBe(200);
    expect(list.body.sessions.map((s) => s.token)).toEqual(['listed']);
    expect(list.body.next).toBeNull();

    const loggedOut = nextEvent(client, 'logout');
    const del = await api(node.url, '/v1/sessions/listed', { method: 'DELETE', apiKey: TEST_API_KEY });
    expect(del.status).toBe(204);
    await loggedOut;
    expect((await getSession(node.url, 'listed')).status).toBe(404);
  });

  it('serves GET and DELETE /v1/sessions/:token for the longest token a handshake accepts (256 characters)', async () => {
    const prefix = uniquePrefix('long');
    dropPrefixAfterwards(prefix);
    const node = await startNode({ redisUrl: SHARED_REDIS_URL, prefix });
    const token = `long-${'t'.repeat(251)}`;
    expect(token).toHaveLength(256);
    const client = await connectClient(node.url, { token });
    await waitUntil(async () => {
      const list = await api<{ sessions: { token: string }[] }>(node.url, '/v1/sessions', {
        apiKey: TEST_API_KEY,
      });
      return list.body.sessions.some((s) => s.token === token);
    });
    const got = await getSession(node.url, token);
    expect(got.status, JSON.stringify(got.body)).toBe(200);
    expect(got.body.token).toBe(token);
    const loggedOut = nextEvent(client, 'logout');
    const del = await api(node.url, `/v1/sessions/${token}`, { method: 'DELETE', apiKey: TEST_API_KEY });
    expect(del.status, JSON.stringify(del.body)).toBe(204);
    await loggedOut;
  });

  it('exits 0 on SIGTERM', async () => {
    const prefix = uniquePrefix('term');
    dropPrefixAfterwards(prefix);
    const node = await startNode({ redisUrl: SHARED_REDIS_URL, prefix });
    await connectClient(node.url, { token: 'stays' });
    await sessionWhere(node.url, 'stays', (s) => s.connections.length === 1);
    const code = await node.stop('SIGTERM');
    expect(code, node.output()).toBe(0);
    expect(node.output()).not.toMatch(/Unhandled|Connection is closed/i);
  });

  it('on SIGTERM, drops its clients so that socket.io-client reconnects by itself, and does not end their sessions', async () => {
    const prefix = uniquePrefix('drain');
    dropPrefixAfterwards(prefix);
    const [leaving, staying] = await Promise.all([
      startNode({ redisUrl: SHARED_REDIS_URL, prefix, env: { DRAIN_MS: '300', SESSION_TIMEOUT_MS: '3000' } }),
      startNode({ redisUrl: SHARED_REDIS_URL, prefix, env: { SESSION_TIMEOUT_MS: '3000' } }),
    ]);
    const client = await connectClient(leaving.url, { token: 'drained', reconnection: true });
    const before = await sessionWhere(staying.url, 'drained', (s) => s.connections.length === 1);
    const dropped = nextEvent(client, 'disconnect');
    const exited = leaving.stop('SIGTERM');
    const [reason] = (await dropped) as [string];
    expect(await exited).toBe(0);
    // 'io server disconnect' means "do not come back": socket.io-client then never reconnects (CONTRACT §8)
    expect(reason).not.toBe('io server disconnect');
    expect(client.active).toBe(true);
    const graced = await sessionWhere(staying.url, 'drained', (s) => s.status === 'grace');
    expect(graced.sid).toBe(before.sid);
    client.disconnect();
  });

  it.each([
    ['PORT', 'not-a-port'],
    ['PORT', '70000'],
    ['REDIS_URL', 'http://127.0.0.1:6379'],
    ['SESSION_TIMEOUT_MS', '-5'],
    ['KEY_PREFIX', 'has space'],
    ['AUTH', 'basic'],
    ['KEYSPACE_NOTIFICATIONS', 'sometimes'],
    ['BUCKETS', '0'],
    ['HEARTBEAT_MS', 'soon'],
    ['MAX_PAYLOAD_BYTES', '1e99'],
    ['LOG_LEVEL', 'loud'],
    ['JWT_MAX_AGE_S', '0'],
    ['MAX_CONNECTIONS', '-1'],
    ['MAX_CONNECTIONS_PER_IP', 'many'],
    ['MAX_CONNECTIONS_PER_TOKEN', '1.5'],
    ['TRUST_PROXY', 'maybe'],
  ])('exits 2 with one line naming %s when it is %j', async (variable, value) => {
    const { code, stderr, stdout } = await runCli(['node'], {
      REDIS_URL: SHARED_REDIS_URL,
      KEY_PREFIX: 'cfgtest',
      PORT: '0',
      [variable]: value,
    });
    expect(code).toBe(2);
    const lines = stderr.trim().split('\n');
    expect(lines, stderr).toHaveLength(1);
    expect(lines[0]).toContain(variable);
    expect(stdout).toBe('');
  });

  it.each([
    ['API_KEY', 'Sup3rS3cret', { API_KEY: 'Sup3rS3cret' }],
    ['AUTH_SECRET', 'Sh0rtS3cret', { AUTH: 'jwt', AUTH_SECRET: 'Sh0rtS3cret' }],
    ['REDIS_URL', 'R3disPass', { REDIS_URL: 'http://:R3disPass@127.0.0.1:6379' }],
    ['REDIS_URL', 'R3dis Pass', { REDIS_URL: 'redis://user:R3dis Pass@[::1' }],
  ])('exits 2 naming %s without printing the secret %j', async (variable, secret, env) => {
    const { code, stderr, stdout } = await runCli(['node'], { KEY_PREFIX: 'cfgtest', PORT: '0', ...env });
    expect(code).toBe(2);
    const lines = stderr.trim().split('\n');
    expect(lines, stderr).toHaveLength(1);
    expect(lines[0]).toContain(variable);
    expect(stderr + stdout).not.toContain(secret);
  });

  it('refuses to join a cluster that uses another bucket count: exit 2, one line naming BUCKETS', async () => {
    const prefix = uniquePrefix('buckets');
    dropPrefixAfterwards(prefix);
    await startNode({ redisUrl: SHARED_REDIS_URL, prefix, env: { BUCKETS: '4' } });
    const { code, stderr } = await runCli(['node'], {
      REDIS_URL: SHARED_REDIS_URL,
      KEY_PREFIX: prefix,
      PORT: '0',
      BUCKETS: '2',
      LOG_LEVEL: 'warn',
    });
    expect(code).toBe(2);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/^io-session: invalid configuration: .*BUCKETS/);
  });

  it('refuses another queue shard count, node and worker alike: exit 2, one line naming QUEUE_SHARDS', async () => {
    const prefix = uniquePrefix('qshards');
    dropPrefixAfterwards(prefix);
    await startNode({ redisUrl: SHARED_REDIS_URL, prefix, env: { QUEUE_SHARDS: '3' } });
    for (const command of ['node', 'worker']) {
      const { code, stderr } = await runCli([command], {
        REDIS_URL: SHARED_REDIS_URL,
        KEY_PREFIX: prefix,
        PORT: '0',
        QUEUE_SHARDS: '2',
        LOG_LEVEL: 'warn',
      });
      expect(code, `${command}: ${stderr}`).toBe(2);
      expect(stderr.trim().split('\n')).toHaveLength(1);
      expect(stderr).toMatch(/^io-session: invalid configuration: .*3 queue shards.*QUEUE_SHARDS/);
    }
  });

  it('refuses the data of another layout (io-session 0.1 under the same prefix): exit 2, one line', async () => {
    const prefix = uniquePrefix('layout1');
    dropPrefixAfterwards(prefix);
    // what io-session 0.1 wrote: the bucket count, and no layout version
    await redisClient(SHARED_REDIS_URL).hset(`${prefix}:{${prefix}.meta}:config`, 'buckets', 64);
    const { code, stderr } = await runCli(['node'], {
      REDIS_URL: SHARED_REDIS_URL,
      KEY_PREFIX: prefix,
      PORT: '0',
    });
    expect(code).toBe(2);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/layout 1.*layout 2/);
  });

  it('a Redis that lost its data cannot let two layouts mix: the node that finds the other layout stops, exit 2', async () => {
    const redis = await startRedis();
    const prefix = uniquePrefix('lostdata');
    const env = { HEARTBEAT_MS: '100', HEARTBEAT_TTL_MS: '5000' };
    const first = await startNode({ redisUrl: redis.url, prefix, env: { ...env, BUCKETS: '2' } });
    // While the first node is stopped, Redis loses its data and a node with another bucket count starts.
    process.kill(first.proc.pid!, 'SIGSTOP');
    await redisClient(redis.url).flushall();
    const second = await startNode({ redisUrl: redis.url, prefix, env: { ...env, BUCKETS: '4' } });
    process.kill(first.proc.pid!, 'SIGCONT');
    expect(await first.exited).toBe(2);
    expect(first.output()).toMatch(/invalid configuration: .*BUCKETS/);
    expect(await fetch(`${second.url}/readyz`).then((r) => r.status)).toBe(200);
  });

  it('exits 2 naming AUTH_SECRET when AUTH=jwt has no secret', async () => {
    const { code, stderr } = await runCli(['node'], { AUTH: 'jwt', PORT: '0' });
    expect(code).toBe(2);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toContain('AUTH_SECRET');
  });
});
