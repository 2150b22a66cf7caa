import { ConfigError, loadConfig, MAX_TTL_MS } from '@io-session/server';
import { loadWorkerConfig, shownValue } from '@io-session/worker';
import { describe, expect, it } from 'vitest';
import { expiryOf } from '../../packages/server/src/auth.js';
import { ConnectionLimits } from '../../packages/server/src/connections/connection-limits.js';
import { Containment } from '../../packages/server/src/containment.js';
import { NodeMetrics } from '../../packages/server/src/metrics.js';
import { FloodGuard } from '../../packages/server/src/protocol/rate-limiter.js';

describe('FloodGuard', () => {
  function guard(): { guard: FloodGuard; clock: { now: number } } {
    const clock = { now: 0 };
    return {
      clock,
      guard: new FloodGuard({
        maxRefusals: 200,
        windowMs: 10_000,
        replyIntervalMs: 1000,
        now: () => clock.now,
      }),
    };
  }

  it('answers at most one refused event a second', () => {
    const { guard: g, clock } = guard();
    const verdicts = [];
    for (let i = 0; i < 100; i++) {
      verdicts.push(g.refused());
      clock.now += 25; // 40 refusals a second for 2.5 s
    }
    expect(verdicts.filter((v) => v === 'reply')).toHaveLength(3);
    expect(verdicts.filter((v) => v === 'quiet')).toHaveLength(97);
    expect(verdicts[0]).toBe('reply');
  });

  it('disconnects once more than maxRefusals came within the window, and says so once', () => {
    const { guard: g } = guard();
    const verdicts = Array.from({ length: 205 }, () => g.refused());
    expect(verdicts.slice(0, 200)).not.toContain('disconnect');
    expect(verdicts[200]).toBe('disconnect');
    expect(verdicts.slice(201)).toEqual(['quiet', 'quiet', 'quiet', 'quiet']);
  });

  it('forgets refusals of an earlier window: a client just over its rate is not disconnected', () => {
    const { guard: g, clock } = guard();
    for (let i = 0; i < 1000; i++) {
      expect(g.refused()).not.toBe('disconnect');
      clock.now += 100; // 10 refusals a second, for 100 s
    }
  });
});

describe('ConnectionLimits', () => {
  const handshake = (address: string, forwarded?: string) => ({
    address,
    headers: forwarded === undefined ? {} : { 'x-forwarded-for': forwarded },
  });

  it('counts per node, per address and per token, and gives slots back once', () => {
    const limits = new ConnectionLimits({
      maxConnections: 3,
      maxConnectionsPerIp: 2,
      maxConnectionsPerToken: 1,
      trustProxy: false,
    });
    const a1 = limits.take('10.0.0.1');
    const a2 = limits.take('10.0.0.1');
    expect(a1 && a2).toBeTruthy();
    expect(limits.take('10.0.0.1')).toBeUndefined(); // per address
    expect(a1?.claimToken('alice')).toBe(true);
    expect(a2?.claimToken('alice')).toBe(false); // per token
    const b = limits.take('10.0.0.2');
    expect(b?.claimToken('bob')).toBe(true);
    expect(limits.take('10.0.0.3')).toBeUndefined(); // per node
    a1?.release();
    a1?.release();
    expect(limits.size).toBe(2);
    const c = limits.take('10.0.0.3');
    expect(c?.claimToken('alice')).toBe(true); // alice's count went with a1
    expect(limits.take('10.0.0.4')).toBeUndefined();
  });

  it('is unlimited with zeros', () => {
    const limits = new ConnectionLimits({
      maxConnections: 0,
      maxConnectionsPerIp: 0,
      maxConnectionsPerToken: 0,
      trustProxy: false,
    });
    for (let i = 0; i < 1000; i++) expect(limits.take('10.0.0.1')?.claimToken('same')).toBe(true);
  });

  it('reads x-forwarded-for only with trustProxy', () => {
    const options = { maxConnections: 0, maxConnectionsPerIp: 0, maxConnectionsPerToken: 0 };
    const direct = new ConnectionLimits({ ...options, trustProxy: false });
    const proxied = new ConnectionLimits({ ...options, trustProxy: true });
    expect(direct.addressOf(handshake('10.0.0.9', '1.2.3.4, 10.0.0.9'))).toBe('10.0.0.9');
    expect(proxied.addressOf(handshake('10.0.0.9', '1.2.3.4, 10.0.0.9'))).toBe('1.2.3.4');
    expect(proxied.addressOf(handshake('10.0.0.9'))).toBe('10.0.0.9');
  });
});

describe('JWT expiry policy', () => {
  const now = 1_700_000_000_000;
  const s = (ms: number): number => Math.floor(ms / 1000);

  it('needs exp unless maxAgeS allows tokens without one', () => {
    expect(() => expiryOf({ sub: 'a', iat: s(now) }, {}, now)).toThrow('invalid_token');
    expect(expiryOf({ sub: 'a', exp: s(now) + 60 }, {}, now)).toBe((s(now) + 60) * 1000);
    expect(expiryOf({ sub: 'a' }, { maxAgeS: 300 }, now)).toBe(now + 300_000);
  });

  it('caps a token’s life at maxAgeS from iat; a future iat counts as now', () => {
    const iat = s(now) - 100;
    expect(expiryOf({ iat, exp: iat + 86_400 }, { maxAgeS: 300 }, now)).toBe((iat + 300) * 1000);
    expect(expiryOf({ iat, exp: iat + 200 }, { maxAgeS: 300 }, now)).toBe((iat + 200) * 1000);
    expect(() => expiryOf({ iat: iat - 1000, exp: iat + 86_400 }, { maxAgeS: 300 }, now)).toThrow();
    expect(expiryOf({ iat: s(now) + 10_000 }, { maxAgeS: 300 }, now)).toBe(now + 300_000);
  });
});

describe('configuration errors never print a secret', () => {
  const base = { AUTH: 'jwt', AUTH_SECRET: 'a-secret-that-is-long-enough-0123456789' };
  const errorOf = (load: () => unknown): string => {
    try {
      load();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return (err as Error).message;
    }
    throw new Error('no error');
  };

  it.each([
    ['API_KEY', 'Sup3rS3cret', { API_KEY: 'Sup3rS3cret' }],
    ['AUTH_SECRET', 'tooShortSecret', { ...base, AUTH_SECRET: 'tooShortSecret' }],
    ['REDIS_URL', 'Pa55word', { REDIS_URL: 'http://user:Pa55word@127.0.0.1:6379' }],
    ['REDIS_URL', 'Pa55 word', { REDIS_URL: 'redis://user:Pa55 word@[::1' }],
  ])('a bad %s names it and hides %j', (variable, secret, env) => {
    const message = errorOf(() => loadConfig(env));
    expect(message.startsWith(`${variable} `)).toBe(true);
    expect(message).not.toContain(secret);
  });

  it('the worker hides a webhook URL’s password and its Redis password', () => {
    const hook = errorOf(() =>
      loadWorkerConfig({ RECEIPT_WEBHOOK_URL: 'ftp://hook:W3bh00k@example.com/in' }),
    );
    expect(hook).toMatch(/^RECEIPT_WEBHOOK_URL must be an http/);
    expect(hook).not.toContain('W3bh00k');
    expect(hook).toContain('***@example.com');
    const redis = errorOf(() => loadWorkerConfig({ REDIS_URL: 'redis//:R3dis@host' }));
    expect(redis).not.toContain('R3dis');
  });

  it('shows other values, so that the line still says what was wrong', () => {
    expect(shownValue('PORT', 'not-a-port')).toBe('(got "not-a-port")');
    expect(shownValue('WEBHOOK_SECRET', 'x')).toBe('(value not shown: it is a secret)');
    expect(shownValue('MAX_CONNECTIONS_PER_TOKEN', 'many')).toBe('(got "many")');
    expect(errorOf(() => loadConfig({ MAX_CONNECTIONS: 'lots' }))).toBe(
      'MAX_CONNECTIONS must be a number (got "lots")',
    );
    expect(errorOf(() => loadConfig({ TRUST_PROXY: 'yes' }))).toMatch(
      /^TRUST_PROXY must be 'true' or 'false'/,
    );
    expect(errorOf(() => loadConfig({ JWT_MAX_AGE_S: '0' }))).toMatch(/^JWT_MAX_AGE_S must be at least 1/);
    expect(MAX_TTL_MS).toBe(30 * 24 * 3600 * 1000);
  });
});

describe('Containment', () => {
  it('logs and counts a throw or a rejection of a wrapped handler, with its context, and goes on', async () => {
    const metrics = new NodeMetrics();
    const logged: object[] = [];
    const logger = { debug: () => {}, info: () => {}, warn: () => {}, error: (o: object) => logged.push(o) };
    const contain = new Containment(metrics, logger);
    const sync = contain.wrap(
      'socket',
      (id: string) => {
        throw new RangeError(`boom ${id}`);
      },
      (id) => ({ socket: id }),
    );
    expect(() => sync('s1')).not.toThrow();
    contain.wrap('push_job', async () => Promise.reject(new Error('later')))();
    await new Promise((resolve) => setImmediate(resolve));
    expect(logged).toMatchObject([
      { where: 'socket', socket: 's1', err: { message: 'boom s1' } },
      { where: 'push_job', err: { message: 'later' } },
    ]);
    const text = await metrics.registry.metrics();
    expect(text).toContain('ios_unexpected_errors_total{where="socket"} 1');
    expect(text).toContain('ios_unexpected_errors_total{where="push_job"} 1');
  });
});
