import type { LevelResult, SystemResult } from './results.js';

export { computeFigures } from './figures.js';
export { computeTargets } from './targets.js';

/** `1,000` */
export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** A system's result at one session count. */
export function level(system: SystemResult | undefined, sessions: number): LevelResult | undefined {
  return system?.levels.find((l) => l.sessions === sessions);
}

/** `level`, except raw BullMQ, whose one level (no sessions) stands for every session count. */
export function levelOrOnly(s: SystemResult, sessions: number): LevelResult | undefined {
  return s.name === 'bullmq' ? s.levels[0] : level(s, sessions);
}

/** Delivered pushes per second of a system at a session count (median). */
export function throughputAt(s: SystemResult | undefined, sessions: number): number | null {
  return level(s, sessions)?.throughput.median ?? null;
}

/** The busiest primary's share (0..1) of the summed Redis CPU, when measured on several primaries. */
export function busiestPrimaryShare(s: SystemResult | undefined, sessions: number): number | null {
  const shares = s ? levelOrOnly(s, sessions)?.redis?.cpuShareByPrimary : undefined;
  return shares && shares.length > 1 ? Math.max(...shares.map((p) => p.share)) : null;
}

/** Session counts ascending, with the first (costs, latency) and the last (memory). */
export function sessionLevels(options: { sessions: number[] }): {
  levels: number[];
  first: number;
  last: number;
} {
  const levels = [...options.sessions].sort((a, b) => a - b);
  return { levels, first: levels[0] ?? 0, last: levels[levels.length - 1] ?? 0 };
}
