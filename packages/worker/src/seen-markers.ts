import { readFileSync } from 'node:fs';
import type { RedisClient } from '@io-session/store';
import type { Result } from 'ioredis';
import { SeenKeys, type SeenScope } from './seen-keys.js';

declare module 'ioredis' {
  interface RedisCommander<Context> {
    iosClaimSeen(numKeys: number, ...args: (string | number)[]): Result<number[], Context>;
  }
}

const claimSeenLua = readFileSync(new URL('../lua/claim-seen.lua', import.meta.url), 'utf8');

/** What a claim found, in the order of the items given (duplicates within the batch dropped). */
export interface Claim<T> {
  /** Items this job must hand to the handler (new, or claimed by an earlier run of the same job). */
  claimed: T[];
  /** Items already handed to the handler. */
  done: number;
  /** Items another job claimed and has not finished: that job hands them over, or fails and retries. */
  elsewhere: number;
}

/**
 * The worker's exactly-once filter in front of each handler. A job claims its items before calling the
 * handler and marks each one `done` right after the handler resolved for it. A claim is held by the job
 * (not the process), so a retried or stalled job takes its own claims back, while any other job that
 * carries the same item skips it: the same receipt in two jobs running at once still reaches the handler
 * once. Markers expire after `ttlMs`.
 */
export class SeenMarkers {
  readonly keys: SeenKeys;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
    private readonly ttlMs: number,
  ) {
    this.keys = new SeenKeys(prefix);
    if (typeof (redis as unknown as Record<string, unknown>).iosClaimSeen !== 'function') {
      redis.defineCommand('iosClaimSeen', { lua: claimSeenLua });
    }
  }

  /** Claims `items` for `scope` on behalf of `owner` (`<queue>/<jobId>`): one script call per shard. */
  async claim<T>(scope: SeenScope, owner: string, items: T[], idOf: (item: T) => string): Promise<Claim<T>> {
    const unique = new Map<string, T>();
    for (const item of items) if (!unique.has(idOf(item))) unique.set(idOf(item), item);
    const byShard = new Map<number, string[]>();
    for (const id of unique.keys()) {
      const shard = this.keys.shardOf(id);
      const ids = byShard.get(shard) ?? [];
      ids.push(id);
      byShard.set(shard, ids);
    }
    const state = new Map<string, number>();
    await Promise.all(
      [...byShard.values()].map(async (ids) => {
        const markers = ids.map((id) => this.keys.marker(scope, id));
        const answers = await this.redis.iosClaimSeen(markers.length, ...markers, `p:${owner}`, this.ttlMs);
        ids.forEach((id, i) => state.set(id, answers[i] ?? -1));
      }),
    );
    const claim: Claim<T> = { claimed: [], done: 0, elsewhere: 0 };
    for (const [id, item] of unique) {
      const answer = state.get(id);
      if (answer === 1) claim.claimed.push(item);
      else if (answer === 0) claim.done += 1;
      else claim.elsewhere += 1;
    }
    return claim;
  }

  /** Marks an item handed over: no job hands it to this handler again while the marker lives. */
  async markDone(scope: SeenScope, id: string): Promise<void> {
    await this.redis.set(this.keys.marker(scope, id), 'done', 'PX', this.ttlMs);
  }
}
