import { connect } from 'node:net';
import { FaultProxy } from '@io-session/devtools';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { deferCleanup } from '../helpers/cleanup.js';
import { uniquePrefix } from '../helpers/prefix.js';
import { SHARED_REDIS_URL } from '../helpers/redis-client.js';
import { waitUntil, withTimeout } from '../helpers/wait.js';

const shared = new URL(SHARED_REDIS_URL);
const target = { host: shared.hostname, port: Number(shared.port || 6379) };

async function proxy(): Promise<FaultProxy> {
  const p = await FaultProxy.start({ target });
  deferCleanup(() => p.close());
  return p;
}

function client(url: string, options: { maxRetriesPerRequest?: number | null } = {}): Redis {
  const redis = new Redis(url, {
    maxRetriesPerRequest: options.maxRetriesPerRequest === undefined ? null : options.maxRetriesPerRequest,
    retryStrategy: () => 50,
  });
  redis.on('error', () => undefined);
  deferCleanup(() => redis.disconnect());
  return redis;
}

/** Writes `bytes` on a raw connection and resolves with everything received until the proxy closes it. */
function rawExchange(port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let received = '';
    socket.on('data', (c: Buffer) => (received += c.toString('latin1')));
    socket.on('error', reject);
    socket.on('close', () => resolve(received));
    socket.write(bytes);
  });
}

const direct = client(SHARED_REDIS_URL);

describe('the fault-injection proxy', () => {
  it('forwards commands and replies unchanged: binary values, pipelines, pub/sub', async () => {
    const p = await proxy();
    const redis = client(p.url);
    const key = `${uniquePrefix('proxy')}:bin`;
    const value = Buffer.from([0, 13, 10, 36, 42, 255, 1, 2]);
    await redis.set(key, value);
    expect(await redis.getBuffer(key)).toEqual(value);
    const pipeline = redis.pipeline();
    for (let i = 0; i < 200; i++) pipeline.incr(`${key}:n`);
    const results = await pipeline.exec();
    expect(results?.map(([, v]) => v)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    const sub = client(p.url);
    const got = new Promise<string>((resolve) => sub.on('message', (_c, m: string) => resolve(m)));
    await sub.subscribe(`${key}:ch`);
    await redis.publish(`${key}:ch`, 'hello');
    expect(await withTimeout(got, 5000, 'the published message')).toBe('hello');
    await direct.del(key, `${key}:n`);
  });

  it('adds latency to each round trip', async () => {
    const p = await proxy();
    const redis = client(p.url);
    await redis.ping();
    p.setLatency(150);
    const start = Date.now();
    await redis.ping();
    // one round trip crosses the proxy twice
    expect(Date.now() - start).toBeGreaterThanOrEqual(290);
  });

  it('drops a whole reply after its command ran, delivering the replies before it and nothing after', async () => {
    const p = await proxy();
    const key = `${uniquePrefix('proxy')}:drop`;
    p.dropReplies(1, (c) => c.name === 'INCR');
    const cmd = (...args: string[]): string =>
      `*${args.length}\r\n` + args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('');
    // one write: the INCR waits for the first PING's reply, runs alone, and the connection is cut
    const received = await rawExchange(
      p.port,
      cmd('PING') + cmd('INCR', key) + cmd('SET', `${key}:after`, 'x'),
    );
    expect(received).toBe('+PONG\r\n');
    expect(await direct.get(key)).toBe('1'); // ran once, its reply lost
    expect(await direct.exists(`${key}:after`)).toBe(0); // never forwarded
    expect(p.stats()).toMatchObject({ repliesDropped: 1 });
    await direct.del(key);
  });

  it('a dropped reply makes ioredis replay the command: a non-idempotent command runs twice', async () => {
    const p = await proxy();
    const redis = client(p.url);
    const key = `${uniquePrefix('proxy')}:replay`;
    await redis.ping();
    p.dropReplies(1, (c) => c.name === 'INCR');
    expect(await withTimeout(redis.incr(key), 5000, 'the replayed INCR')).toBe(2);
    expect(p.stats().repliesDropped).toBe(1);
    await direct.del(key);
  });

  it('cuts every connection; clients reconnect through it', async () => {
    const p = await proxy();
    const redis = client(p.url);
    await redis.ping();
    const closed = new Promise<void>((resolve) => redis.once('close', () => resolve()));
    expect(p.cut()).toBe(1);
    await withTimeout(closed, 5000, 'the client to see its connection closed');
    expect(await redis.ping()).toBe('PONG');
    expect(p.stats()).toMatchObject({ cut: 1, connections: 2 });
  });

  it('a held partition lets nothing through until it heals, then delivers what waited', async () => {
    const p = await proxy();
    const redis = client(p.url);
    const key = `${uniquePrefix('proxy')}:hold`;
    await redis.ping();
    p.partition('hold');
    let done = false;
    const pending = redis.set(key, 'v').then(() => (done = true));
    await waitUntil(() => p.stats().commands >= 2, { message: 'the proxy to have seen the SET' });
    expect(done).toBe(false);
    expect(await direct.exists(key)).toBe(0);
    p.heal();
    await withTimeout(pending, 5000, 'the held SET');
    expect(await direct.get(key)).toBe('v');
    await direct.del(key);
  });

  it('a refusing partition cuts and resets connections until it heals', async () => {
    const p = await proxy();
    const redis = client(p.url, { maxRetriesPerRequest: 1 });
    await redis.ping();
    p.partition('refuse');
    await expect(redis.ping()).rejects.toThrow();
    expect(p.stats().refused).toBeGreaterThan(0);
    p.heal();
    await waitUntil(async () => (await redis.ping()) === 'PONG', { message: 'PING after the partition' });
  });
});
