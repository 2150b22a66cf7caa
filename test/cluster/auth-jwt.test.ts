import { SignJWT, UnsecuredJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { connect, type ClientError } from '@io-session/client';
import type { Socket } from 'socket.io-client';
import { api, collect, connectClient, connectError, nextEvent } from '../helpers/clients.js';
import { runCli, startNode, TEST_API_KEY, type NodeProcess } from '../helpers/node-process.js';
import { uniquePrefix } from '../helpers/prefix.js';
import { dropPrefixAfterwards, SHARED_REDIS_URL } from '../helpers/redis-client.js';
import { getSession, sessionWhere } from '../helpers/sessions-api.js';
import { waitUntil } from '../helpers/wait.js';

const SECRET = 'a-test-secret-that-is-long-enough-0123456789';
const key = (secret: string): Uint8Array => new TextEncoder().encode(secret);

function sign(
  sub: string | undefined,
  options: { secret?: string; exp?: number | string | null; iat?: number } = {},
): Promise<string> {
  const jwt = new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setIssuedAt(options.iat);
  if (sub !== undefined) jwt.setSubject(sub);
  if (options.exp !== null) jwt.setExpirationTime(options.exp ?? '1h');
  return jwt.sign(key(options.secret ?? SECRET));
}

/** Seconds since the epoch, as JWTs count. */
const nowS = (): number => Math.floor(Date.now() / 1000);

/** Resolves with the `session_error`s a socket got until it was disconnected, and the reason. */
async function untilDropped(socket: Socket): Promise<{ errors: unknown[]; reason: string; afterMs: number }> {
  const started = Date.now();
  const errors = collect(socket, 'session_error');
  const [reason] = (await nextEvent(socket, 'disconnect', { timeout: 15_000 })) as [string];
  return { errors: errors.items.map((args) => args[0]), reason, afterMs: Date.now() - started };
}

describe('AUTH=jwt', () => {
  let node: NodeProcess;
  beforeAll(async () => {
    const prefix = uniquePrefix('jwt');
    dropPrefixAfterwards(prefix);
    node = await startNode({ redisUrl: SHARED_REDIS_URL, prefix, env: { AUTH: 'jwt', AUTH_SECRET: SECRET } });
  });

  const refused: [string, () => Promise<string | undefined>][] = [
    ['missing', async () => undefined],
    ['empty', async () => ''],
    ['not a JWT', async () => 'user-1'],
    [
      'forged (signed with another secret)',
      () => sign('user-1', { secret: 'another-secret-of-the-same-length-01234567' }),
    ],
    ['expired', () => sign('user-1', { exp: Math.floor(Date.now() / 1000) - 60 })],
    ['unsigned (alg none)', async () => new UnsecuredJWT({ sub: 'user-1' }).setExpirationTime('1h').encode()],
    ['without a sub', () => sign(undefined)],
    ['without an exp (JWT_MAX_AGE_S unset)', () => sign('user-1', { exp: null })],
    ['with a sub longer than a token may be', () => sign('x'.repeat(300))],
  ];

  it.each(refused)(
    'refuses a %s token with connect_error invalid_token, in the query and in auth',
    async (_what, make) => {
      const token = await make();
      for (const auth of [false, true]) {
        const err = await connectError(node.url, { token, auth });
        expect(err.message).toBe('invalid_token');
      }
      expect((await getSession(node.url, 'user-1')).status).toBe(404);
    },
  );

  it('opens the session named by the sub of a valid token', async () => {
    const viaQuery = await connectClient(node.url, { token: await sign('user-42') });
    const viaAuth = await connectClient(node.url, { token: await sign('user-42'), auth: true, v: 2 });
    const session = await sessionWhere(node.url, 'user-42', (s) => s.connections.length === 2);
    expect(session.token).toBe('user-42');
    expect(session.connections.map((c) => c.id).sort()).toEqual([viaQuery.id, viaAuth.id].sort());
    // the JWT itself named no session
    const list = await api<{ sessions: { token: string }[] }>(node.url, '/v1/sessions?limit=1000', {
      apiKey: TEST_API_KEY,
    });
    expect(list.body.sessions.filter((s) => s.token.includes('.'))).toEqual([]);
  });

  it('closes a connection when its JWT expires, after session_error token_expired', async () => {
    const socket = await connectClient(node.url, { token: await sign('short-lived', { exp: nowS() + 2 }) });
    await sessionWhere(node.url, 'short-lived', (s) => s.connections.length === 1);
    const { errors, reason } = await untilDropped(socket);
    expect(errors).toEqual([{ code: 'token_expired', message: expect.any(String) }]);
    // the transport, not a DISCONNECT packet: socket.io-client would reconnect by itself
    expect(reason).toBe('transport close');
  });

  it('the SDK reconnects with a fresh token from getToken when its JWT expires', async () => {
    const issued: number[] = [];
    const client = connect(node.url, {
      transports: ['websocket'],
      reconnectDelayMinMs: 50,
      getToken: () => {
        issued.push(Date.now());
        return sign('refreshing', { exp: nowS() + 2 });
      },
    });
    const errors: ClientError[] = [];
    client.on('error', (e) => errors.push(e));
    let connects = 0;
    client.on('connected', () => (connects += 1));
    try {
      await waitUntil(() => connects >= 2, { timeout: 15_000, message: 'a second connection' });
      expect(errors.map((e) => e.code)).toEqual(['token_expired']);
      expect(issued.length).toBeGreaterThanOrEqual(2);
    } finally {
      client.close();
    }
  });

  it('accepts the token printed by `io-session token <sub>`', async () => {
    const { code, stdout, stderr } = await runCli(['token', 'cli-user'], { AUTH_SECRET: SECRET });
    expect(code, stderr).toBe(0);
    const jwt = stdout.trim();
    expect(jwt.split('.')).toHaveLength(3);
    const client = await connectClient(node.url, { token: jwt });
    const session = await sessionWhere(node.url, 'cli-user', (s) => s.connections.length === 1);
    expect(session.connections[0]!.id).toBe(client.id);
  });

  it('`io-session token` exits 2 without AUTH_SECRET', async () => {
    const { code, stderr } = await runCli(['token', 'someone'], {});
    expect(code).toBe(2);
    expect(stderr).toContain('AUTH_SECRET');
  });
});

describe('AUTH=jwt with JWT_MAX_AGE_S', () => {
  let node: NodeProcess;
  beforeAll(async () => {
    const prefix = uniquePrefix('jwtage');
    dropPrefixAfterwards(prefix);
    node = await startNode({
      redisUrl: SHARED_REDIS_URL,
      prefix,
      env: { AUTH: 'jwt', AUTH_SECRET: SECRET, JWT_MAX_AGE_S: '2' },
    });
  });

  it('accepts a JWT without exp and closes its connection JWT_MAX_AGE_S after its iat', async () => {
    const socket = await connectClient(node.url, { token: await sign('ageless', { exp: null }) });
    const { errors, reason, afterMs } = await untilDropped(socket);
    expect(errors).toMatchObject([{ code: 'token_expired' }]);
    expect(reason).toBe('transport close');
    expect(afterMs).toBeLessThan(3500);
  });

  it('caps a long-lived JWT at JWT_MAX_AGE_S, and refuses one issued longer ago', async () => {
    const socket = await connectClient(node.url, { token: await sign('capped', { exp: '1h' }) });
    const { errors, afterMs } = await untilDropped(socket);
    expect(errors).toMatchObject([{ code: 'token_expired' }]);
    expect(afterMs).toBeLessThan(3500);
    const old = await sign('old', { exp: '1h', iat: nowS() - 60 });
    expect((await connectError(node.url, { token: old })).message).toBe('invalid_token');
  });
});

describe('AUTH=none', () => {
  let node: NodeProcess;
  beforeAll(async () => {
    const prefix = uniquePrefix('none');
    dropPrefixAfterwards(prefix);
    node = await startNode({ redisUrl: SHARED_REDIS_URL, prefix });
  });

  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['oversized', 'x'.repeat(300)],
  ])('refuses a %s token with connect_error invalid_token', async (_what, token) => {
    for (const auth of [false, true]) {
      expect((await connectError(node.url, { token, auth })).message).toBe('invalid_token');
    }
  });

  it('takes the plain token as the session token, in the query (seed clients) and in auth', async () => {
    const a = await connectClient(node.url, { token: 'plain' });
    const b = await connectClient(node.url, { token: 'plain', auth: true });
    const session = await sessionWhere(node.url, 'plain', (s) => s.connections.length === 2);
    expect(session.connections.map((c) => c.id).sort()).toEqual([a.id, b.id].sort());
  });
});
