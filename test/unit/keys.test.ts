import calculateSlot from 'cluster-key-slot';
import { bucketOf, fnv1a, Keys, queueShardPrefix } from '@io-session/store';
import { describe, expect, it } from 'vitest';

describe('fnv1a / bucketOf', () => {
  it('matches the published FNV-1a 32-bit values, so buckets never move between versions', () => {
    expect(fnv1a('')).toBe(0x811c9dc5);
    expect(fnv1a('a')).toBe(0xe40c292c);
    expect(fnv1a('foobar')).toBe(0xbf9cf968);
  });

  it('puts a token in the same bucket every time and always in range', () => {
    const keys = new Keys('ios', 64);
    for (let i = 0; i < 2000; i++) {
      const token = `user-${i}`;
      const b = bucketOf(token, 64);
      expect(b).toBeGreaterThanOrEqual(0);
      expect(b).toBeLessThan(64);
      expect(bucketOf(token, 64)).toBe(b);
      expect(keys.bucketOf(token)).toBe(b);
    }
  });

  it('spreads tokens over every bucket', () => {
    const counts = new Array<number>(64).fill(0);
    for (let i = 0; i < 6400; i++) counts[bucketOf(`tok${i}`, 64)]! += 1;
    expect(Math.min(...counts)).toBeGreaterThan(50);
    expect(Math.max(...counts)).toBeLessThan(150);
  });
});

describe('Keys', () => {
  const keys = new Keys('pre', 16);

  it('puts every key of a session in the hash slot of its bucket', () => {
    const k = keys.session('alice');
    const tag = k.tag.slice('pre:'.length);
    const all = [
      k.session,
      k.graceMarker,
      k.due,
      k.all,
      k.route,
      k.pending,
      k.pendingIds,
      k.outbox,
      k.relayLease,
    ];
    all.push(k.stats, keys.statusSlot(k.bucket, 123), keys.nodeIndex(k.bucket, 'n1~ab'));
    for (const key of all) expect(key.startsWith(`pre:${tag}:`)).toBe(true);
    expect(new Set(all).size).toBe(all.length);
  });

  it('parses grace-marker keys back into their bucket for every bucket', () => {
    for (let i = 0; i < 500; i++) {
      const token = `t:${i}:}{weird}`;
      const k = keys.session(token);
      expect(keys.parseGraceMarker(k.graceMarker)).toBe(k.bucket);
    }
  });

  it('ignores keys that are not grace markers of its prefix and bucket range', () => {
    const k = keys.session('bob');
    expect(keys.parseGraceMarker(k.session)).toBeUndefined();
    expect(keys.parseGraceMarker(new Keys('other', 16).session('bob').graceMarker)).toBeUndefined();
    expect(
      keys.parseGraceMarker(
        new Keys('pre', 64).session('x').graceMarker.replace(/\{pre\.[\d~]+\}/, '{pre.40}'),
      ),
    ).toBeUndefined();
    expect(keys.parseGraceMarker('pre:{pre.abc}:g:x')).toBeUndefined();
    expect(keys.parseGraceMarker('pre:{pre.-1}:g:x')).toBeUndefined();
    expect(keys.parseGraceMarker('')).toBeUndefined();
  });

  it('chooses bucket tags that cover the slot space evenly (so buckets spread over primaries as slots do)', () => {
    for (const buckets of [3, 8, 16, 64]) {
      const k = new Keys('ios', buckets);
      for (let b = 0; b < buckets; b++) {
        const slot = calculateSlot(k.bucket(b).tag);
        expect(slot).toBeGreaterThanOrEqual(Math.floor((b * 16384) / buckets));
        expect(slot).toBeLessThan(Math.floor(((b + 1) * 16384) / buckets));
        expect(k.parseGraceMarker(k.session(`x${b}`).graceMarker)).toBe(k.bucketOf(`x${b}`));
      }
    }
  });

  it('refuses a bucket out of range', () => {
    expect(() => keys.bucket(16)).toThrow(RangeError);
    expect(() => keys.bucket(-1)).toThrow(RangeError);
    expect(keys.bucket(15).tag).toMatch(/^pre:\{pre\.15(~\d+)?\}$/);
  });

  it('keeps node and cluster keys out of the session buckets and hash-tags the queue prefix', () => {
    expect(keys.liveNodes).toBe('pre:{pre.nodes}:live');
    expect(keys.reapingNodes).toBe('pre:{pre.nodes}:reaping');
    expect(keys.routeChannel('n1~ab')).toBe('pre:{pre.n.n1~ab}:route');
    expect(keys.queuePrefix).toBe('{pre}');
  });
});

describe('queueShardPrefix', () => {
  it('keeps shard 0 at {prefix} and spaces the shards evenly over the slot space from there', () => {
    for (const shards of [1, 3, 8, 16]) {
      expect(queueShardPrefix('ios', 0, shards)).toBe('{ios}');
      const start = calculateSlot('ios');
      for (let k = 1; k < shards; k++) {
        const prefix = queueShardPrefix('ios', k, shards);
        expect(prefix).toMatch(new RegExp(`^\\{ios\\.q${k}(~\\d+)?\\}$`));
        const offset = (calculateSlot(prefix.slice(1, -1)) - start + 16384) % 16384;
        expect(offset).toBeGreaterThanOrEqual(Math.floor((k * 16384) / shards));
        expect(offset).toBeLessThan(Math.floor(((k + 1) * 16384) / shards));
      }
    }
  });

  it('is deterministic', () => {
    expect(new Keys('pre', 16).queueShardPrefix(5, 8)).toBe(queueShardPrefix('pre', 5, 8));
  });
});
