import { SignJWT, UnsecuredJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { api, connectClient, connectError } from '../helpers/clients.js';
import { runCli, startNode, TEST_API_KEY, type NodeProcess } from '../helpers/node-process.js';
import { uniquePrefix } from '../helpers/prefix.js';
import { dropPrefixAfterwards, SHARED_REDIS_URL } from '../helpers/redis-client.js';
import { getSession, sessionWhere } from '../helpers/sessions-api.js';

const SECRET = 'a-test-secret-that-is-long-enough-0123456789';
const key = (secret: string): Uint8Array => new TextEncoder().encode(secret);

function sign(
  sub: string | undefined,
  options: { secret?: string; exp?: number | string } = {},
): Promise<string> {
  const jwt = new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setIssuedAt();
  if (sub !== undefined) jwt.setSubject(sub);
  jwt.setExpirationTime(options.exp ?? '1h');
  return jwt.sign(key(options.secret ?? SECRET));
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
