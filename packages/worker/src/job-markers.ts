import { readFileSync } from 'node:fs';
import type { RedisClient } from '@io-session/store';
import type { Result } from 'ioredis';
import { JobMarkerKeys, type HandlerScope } from './job-marker-keys.js';

declare module 'ioredis' {
  interface RedisCommander<Context> {
    iosClaimJob(marker: string, owner: string, leaseMs: number): Result<[number, number], Context>;
    iosRenewJob(marker: string, owner: string, leaseMs: number): Result<number, Context>;
    iosReleaseJob(marker: string, owner: string): Result<number, Context>;
  }
}

const lua = (name: string): string => readFileSync(new URL(`../lua/${name}.lua`, import.meta.url), 'utf8');
const scripts = {
  iosClaimJob: lua('claim-job'),
  iosRenewJob: lua('renew-job'),
  iosReleaseJob: lua('release-job'),
};

/** What a claim found. */
export type Claim =
  /** This run hands the job's items to the handler. */
  | { state: 'claimed' }
  /** The handler resolved for this job in an earlier run: nothing to hand over. */
  | { state: 'done' }
  /** Another run of the job holds the claim, for `retryInMs` more unless it renews it. */
  | { state: 'busy'; retryInMs: number };

export interface JobMarkersOptions {
  /** How long a `done` marker outlives a run that could not complete its job, in ms. */
  ttlMs: number;
  /** Lease of a claim, renewed every half lease while its run goes, in ms. */
  leaseMs: number;
  /** Redis trouble while renewing, and claims found lost (another run may hand the same items over). */
  onError: (error: Error) => void;
}

/**
 * The worker's dedupe in front of each handler, one marker per job and handler: a run claims the job before
 * calling the handler, writes `done` once the handler resolved, and the marker is deleted when the job
 * completed. In steady state markers exist only for the jobs in flight (at most the worker's concurrency per
 * handler); the ttl bounds only what a crash leaves behind. One round trip per job and handler for the claim,
 * one for `done`, one per job for the deletion.
 */
export class JobMarkers {
  readonly keys: JobMarkerKeys;
  /** Claims this process holds and renews: marker key -> owner. */
  readonly #held = new Map<string, string>();
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
    private readonly options: JobMarkersOptions,
  ) {
    this.keys = new JobMarkerKeys(prefix);
    for (const [name, source] of Object.entries(scripts)) {
      if (typeof (redis as unknown as Record<string, unknown>)[name] !== 'function')
        redis.defineCommand(name, { numberOfKeys: 1, lua: source });
    }
  }

  /** Claims `jobId` for `scope` on behalf of the run with lock `token`; a claimed job is renewed until {@link letGo}. */
  async claim(scope: HandlerScope, jobId: string, token: string): Promise<Claim> {
    const key = this.keys.marker(scope, jobId);
    const owner = ownerOf(token);
    const [state, pttl] = await this.redis.iosClaimJob(key, owner, this.options.leaseMs);
    if (state === 0) return { state: 'done' };
    if (state < 0) return { state: 'busy', retryInMs: pttl };
    this.#held.set(key, owner);
    this.#timer ??= setInterval(() => this.#renew(), Math.max(1, this.options.leaseMs / 2)).unref();
    return { state: 'claimed' };
  }

  /** Stops renewing a claim: its run hands nothing more (the claim stays until `done`, a release or its lease). */
  letGo(scope: HandlerScope, jobId: string): void {
    this.#held.delete(this.keys.marker(scope, jobId));
    if (this.#held.size === 0) this.stop();
  }

  /** The handler resolved for `jobId`: no run of the job hands its items to it again while the marker lives. */
  async done(scope: HandlerScope, jobId: string): Promise<void> {
    await this.redis.set(this.keys.marker(scope, jobId), 'done', 'PX', this.options.ttlMs);
  }

  /** Gives back the claims the run with lock `token` still holds on `jobId` (after BullMQ recorded its failure). */
  async release(scopes: HandlerScope[], jobId: string, token: string): Promise<void> {
    const owner = ownerOf(token);
    await Promise.all(scopes.map((scope) => this.redis.iosReleaseJob(this.keys.marker(scope, jobId), owner)));
  }

  /** Deletes every marker of `jobId` (the job completed, or failed for good): one command, one slot. */
  async forget(scopes: HandlerScope[], jobId: string): Promise<void> {
    if (scopes.length > 0) await this.redis.del(...scopes.map((scope) => this.keys.marker(scope, jobId)));
  }

  /** Stops renewing every claim (on close). */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #renew(): void {
    for (const [key, owner] of this.#held) {
      this.redis.iosRenewJob(key, owner, this.options.leaseMs).then(
        (renewed) => {
          if (renewed === 1 || this.#held.get(key) !== owner) return;
          this.#held.delete(key);
          this.options.onError(new Error(`dedupe claim ${key} lapsed while its run went on`));
        },
        (err: Error) => this.options.onError(err),
      );
    }
  }
}

function ownerOf(token: string): string {
  return `p:${token}`;
}
