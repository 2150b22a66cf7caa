import type { Progress } from '../harness/progress.js';
import type { PrivateRedis } from '../harness/redis-server.js';
import type { Swarm } from '../harness/swarm.js';
import type { LoadHooks, LoadResult, LoadSpec } from '../load/pacer.js';
import type { BenchOptions } from '../options.js';
import { formatCount } from '../report/summary.js';

/** What every measurement needs. */
export interface Context {
  options: BenchOptions;
  progress: Progress;
  redis: PrivateRedis;
  swarm: Swarm;
  /** Last latency phase id handed out. */
  phase: number;
}

/** Something the load generator can drive (a session system or the raw BullMQ floor). */
export interface Loadable {
  runLoad(spec: LoadSpec, hooks?: LoadHooks): Promise<LoadResult>;
}

export interface LatencyPlan {
  ratePerSec: number;
  source: string;
}

export const CONNECT_CONCURRENCY = 100;
export const DRAIN_MS = 20_000;
/** Pause after connects before memory is read (and after disconnects): GC, buffers, lazy frees. */
export const settleMs = (ctx: Context) => (ctx.options.quick ? 300 : 1000);

export const fmt = (n: number) => formatCount(n);
export const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

export function closedSpec(ctx: Context, sessions: number): LoadSpec {
  const o = ctx.options;
  return {
    mode: 'closed',
    window: o.window,
    ratePerSec: 0,
    batch: o.batch,
    warmupMs: o.warmupS * 1000,
    durationMs: o.durationS * 1000,
    drainMs: DRAIN_MS,
    tokenPrefix: 's-',
    sessions,
    phase: 0,
  };
}

export const round = (v: number) => Math.round(v * 1000) / 1000;
