import { readFileSync } from 'node:fs';
import type { RedisClient } from '@io-session/store';
import type { Result } from 'ioredis';
import { SeenKeys, type SeenScope } from './seen-keys.js';

declare module 'ioredis' {
  interface RedisCommander<Context> {
    iosClaimSeen(marker: string, owner: string, ttlMs: number): Result<number, Context>;
    iosReleaseSeen(marker: string, owner: string): Result<number, Context>;
  }
}

const lua = (name: string): string => readFileSync(new URL(`../lua/${name}.lua`, import.meta.url), 'utf8');
const scripts = { iosClaimSeen: lua('claim-seen'), iosReleaseSeen: lua('release-seen') };

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
    for (const [name, source] of Object.entries(scripts)) {
      if (typeof (redis as unknown as Record<string, unknown>)[name] !== 'function')
        redis.defineCommand(name, { numberOfKeys: 1, lua: source });
    }
  }

  /**
   * Claims `items` for `scope` on behalf of `owner` (`<queue>/<jobId>`). One script call per item, sent
   * together: auto-pipelining makes that one round trip per Redis node.
   */
  async claim<T>(scope: SeenScope, owner: string, items: T[], idOf: (item: T) => string): Promise<Claim<T>> {
    const unique = new Map<string, T>();
    for (const item of items) if (!unique.has(idOf(item))) unique.set(idOf(item), item);
    const entries = [...unique];
    const answers = await Promise.all(
      entries.map(([id]) => this.redis.iosClaimSeen(this.keys.marker(scope, id), `p:${owner}`, this.ttlMs)),
    );
    const claim: Claim<T> = { claimed: [], done: 0, elsewhere: 0 };
    entries.forEach(([, item], i) => {
      if (answers[i] === 1) claim.claimed.push(item);
      else if (answers[i] === 0) claim.done += 1;
      else claim.elsewhere += 1;
    });
    return claim;
  }

  /** Gives back `owner`'s claims of items it did not hand over (after a handler failed). */
  async release(scope: SeenScope, owner: string, ids: string[]): Promise<void> {
    await Promise.all(ids.map((id) => this.redis.iosReleaseSeen(this.keys.marker(scope, id), `p:${owner}`)));
  }

  /** Marks an item handed over: no job hands it to this handler again while the marker lives. */
  async markDone(scope: SeenScope, id: string): Promise<void> {
    await this.redis.set(this.keys.marker(scope, id), 'done', 'PX', this.ttlMs);
  }
}
