import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';

/**
 * A seeded random stream (pure-rand's xoroshiro128+). Each concurrent loop of the run draws from its own stream,
 * so that one loop drawing more often (it ran faster this time) does not shift the choices of the others.
 */
export class Random {
  readonly #rng: ReturnType<typeof xoroshiro128plus>;

  constructor(seed: number, stream: number) {
    this.#rng = xoroshiro128plus((seed * 1_000_003 + stream * 7_919) | 0);
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return uniformInt(this.#rng, Math.ceil(min), Math.floor(max));
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.int(0, 9_999) < p * 10_000;
  }

  /** An integer in a [min, max] range. */
  range(r: readonly [number, number]): number {
    return this.int(r[0], r[1]);
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[this.int(0, items.length - 1)]!;
  }

  /** One of the keys, each with its weight. */
  weighted<K extends string>(weights: Readonly<Record<K, number>>): K {
    const entries = Object.entries(weights) as [K, number][];
    const total = entries.reduce((s, [, w]) => s + w, 0);
    let x = this.int(0, Math.max(0, total - 1));
    for (const [key, w] of entries) {
      if (x < w) return key;
      x -= w;
    }
    return entries[entries.length - 1]![0];
  }
}
