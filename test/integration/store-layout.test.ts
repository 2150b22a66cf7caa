import { bucketOf, LAYOUT_MARK, LayoutError, type RedisClient } from '@io-session/store';
import { describe, expect, it } from 'vitest';
import { uniquePrefix } from '../helpers/prefix.js';
import { openStore } from '../helpers/store.js';

/**
 * What io-session v0.1.0 (tag v0.1.0, commit 577ab9b) writes for one session with one pending push, key by key
 * as its packages/store/src/keys.ts, lua/connect.lua and lua/includes/store-message.lua do (64 buckets, its
 * default; bucket tag `{<prefix>.<b>}`).
 */
async function writeV010State(redis: RedisClient, prefix: string): Promise<void> {
  const tag = `${prefix}:{${prefix}.${bucketOf('olga', 64)}}`;
  const now = Date.now();
  await redis.hset(`${prefix}:{${prefix}.meta}:config`, 'buckets', 64);
  await redis.hset(
    `${tag}:s:olga`,
    'sid',
    'old-sid',
    't0',
    now,
    'n',
    1,
    'fc',
    'sock1',
    'c:sock1',
    'node~1|1',
  );
  await redis.zadd(`${tag}:all`, 0, 'olga');
  await redis.xadd(`${tag}:outbox`, '*', 'e', JSON.stringify({ type: 'session.started', token: 'olga' }));
  await redis.hset(`${tag}:m:msg1`, 't', 'olga', 'd', '"hi"', 'ts', now, 'exp', now + 60_000, 'st', 'p');
  await redis.rpush(`${tag}:q:olga`, 'msg1');
  await redis.sadd(`${prefix}:{${prefix}.n.node~1}:tokens`, 'olga');
}

/** v0.1.0's layout check, as its SessionStore.verifyLayout reads (git show 577ab9b:packages/store/src/session-store.ts). */
async function v010Accepts(redis: RedisClient, prefix: string, buckets: number): Promise<boolean> {
  const config = `${prefix}:{${prefix}.meta}:config`;
  await redis.hsetnx(config, 'buckets', buckets);
  return Number(await redis.hget(config, 'buckets')) === buckets;
}

describe('layout version: a node never mixes with the data of io-session v0.1.0', () => {
  it('a new node refuses a Redis holding v0.1.0 state, names the migration, and writes nothing', async () => {
    const prefix = uniquePrefix('v010');
    const { store, redis } = openStore({ prefix, buckets: 1 });
    await writeV010State(redis, prefix);
    const refusal = await store.verifyLayout().then(
      () => null,
      (err: unknown) => err,
    );
    expect(refusal).toBeInstanceOf(LayoutError);
    expect((refusal as LayoutError).variable).toBe('KEY_PREFIX');
    expect((refusal as LayoutError).message).toMatch(
      /written by io-session v0\.1\.0 \(layout 1\).*"Upgrading from v0\.1\.0".*another KEY_PREFIX/,
    );
    expect(await redis.hgetall(`${prefix}:{${prefix}.meta}:config`)).toEqual({ buckets: '64' });
  });

  it('a v0.1.0 node refuses a Redis a new node claimed, whatever its bucket count (also 1, the new default)', async () => {
    const prefix = uniquePrefix('v020');
    const { store, redis } = openStore({ prefix, buckets: 1 });
    await store.verifyLayout();
    expect(await redis.hget(`${prefix}:{${prefix}.meta}:config`, 'buckets')).toBe(LAYOUT_MARK);
    expect(await v010Accepts(redis, prefix, 1)).toBe(false);
    expect(await v010Accepts(redis, prefix, 64)).toBe(false);
    // and the new node still accepts its own record, at every heartbeat
    await store.verifyLayout();
  });
});
