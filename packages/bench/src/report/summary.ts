import type {
  BenchOptionsRecord,
  Figure,
  LevelResult,
  SystemName,
  SystemResult,
  TargetResult,
} from './results.js';
import { ratio } from './stats.js';

type Systems = Partial<Record<SystemName, SystemResult>>;
type Baseline = Exclude<SystemName, 'project'>;
const baselines: Baseline[] = ['bare', 'seed', 'bullmq'];

/** `1,000` */
export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

function level(system: SystemResult | undefined, sessions: number): LevelResult | undefined {
  return system?.levels.find((l) => l.sessions === sessions);
}

function figure(
  spec: Omit<Figure, 'values' | 'ratios'> & { noRatios?: boolean },
  systems: Systems,
  pick: (s: SystemResult) => number | null | undefined,
): Figure {
  const { noRatios, ...rest } = spec;
  const values: Figure['values'] = {};
  for (const name of Object.keys(systems) as SystemName[]) {
    const system = systems[name];
    if (system) values[name] = pick(system) ?? null;
  }
  const ratios: Figure['ratios'] = {};
  for (const b of baselines) {
    if (b in values && 'project' in values) ratios[b] = noRatios ? null : ratio(values.project, values[b]);
  }
  return { ...rest, values, ratios };
}

/**
 * The rows of the summary table: each figure for every system measured, and the project's ratio to each
 * baseline. Throughput is per session count; raw BullMQ has no sessions, so its one jobs/s figure stands in
 * every throughput row (the ceiling of a one-job-per-push design). Costs are taken at the first session
 * count, memory per session at the last (the largest, where the per-session figure is least noisy).
 */
export function computeFigures(systems: Systems, options: Pick<BenchOptionsRecord, 'sessions'>): Figure[] {
  const levels = [...options.sessions].sort((a, b) => a - b);
  const first = levels[0] ?? 0;
  const last = levels[levels.length - 1] ?? 0;
  const at = (n: number) => `@ ${formatCount(n)} sessions`;
  const figures: Figure[] = [];
  for (const n of levels) {
    figures.push(
      figure(
        { key: `throughput@${n}`, label: `pushes/s ${at(n)}`, unit: 'msg/s', better: 'higher' },
        systems,
        (s) => (s.name === 'bullmq' ? s.levels[0]?.throughput.median : level(s, n)?.throughput.median),
      ),
    );
  }
  figures.push(
    figure(
      { key: 'latency-p50', label: 'latency p50 (50% load)', unit: 'ms', better: 'lower' },
      systems,
      (s) => (s.latency ? s.latency.p50Ms.median : null),
    ),
    figure(
      { key: 'latency-p99', label: 'latency p99 (50% load)', unit: 'ms', better: 'lower' },
      systems,
      (s) => (s.latency ? s.latency.p99Ms.median : null),
    ),
    figure(
      {
        key: 'latency-own-p99',
        label: 'latency p99 at 50% of own max, if saturated',
        unit: 'ms',
        better: 'lower',
      },
      systems,
      (s) => s.latency?.ownHalf?.p99Ms.median,
    ),
    figure({ key: 'connects', label: 'connects/s', unit: '1/s', better: 'higher' }, systems, (s) =>
      s.connectsPerSec ? s.connectsPerSec.median : null,
    ),
    figure(
      { key: 'round-trips', label: 'Redis round trips/msg (MONITOR)', unit: 'cmd', better: 'lower' },
      systems,
      (s) => s.roundTrips?.perMsg,
    ),
    figure(
      {
        key: 'redis-commands',
        label: `Redis commands/msg incl. scripts ${at(first)}`,
        unit: 'cmd',
        better: 'lower',
      },
      systems,
      (s) => levelOrOnly(s, first)?.redis?.commandsPerMsg.median,
    ),
    figure(
      { key: 'redis-reads', label: `Redis socket reads/msg ${at(first)}`, unit: 'reads', better: 'lower' },
      systems,
      (s) => levelOrOnly(s, first)?.redis?.readsPerMsg.median,
    ),
    figure(
      { key: 'redis-cpu', label: `Redis CPU µs/msg ${at(first)}`, unit: 'µs', better: 'lower' },
      systems,
      (s) => levelOrOnly(s, first)?.redis?.cpuUsPerMsg.median,
    ),
    figure(
      { key: 'node-cpu', label: `node CPU µs/msg ${at(first)}`, unit: 'µs', better: 'lower' },
      systems,
      (s) => levelOrOnly(s, first)?.cpuUsPerMsg?.nodes.median,
    ),
    figure(
      {
        key: 'redis-bytes',
        label: `Redis bytes/idle session ${at(last)}`,
        unit: 'B',
        better: 'lower',
        // The baselines keep (next to) nothing per session in Redis: a ratio would say nothing.
        noRatios: true,
      },
      systems,
      (s) => level(s, last)?.redisBytesPerSession,
    ),
    figure(
      {
        key: 'redis-retained',
        label: `Redis bytes retained/msg ${at(first)}`,
        unit: 'B',
        better: 'lower',
        noRatios: true,
      },
      systems,
      (s) => levelOrOnly(s, first)?.redisBytesRetainedPerMsg,
    ),
    figure(
      { key: 'rss', label: `node RSS bytes/idle connection ${at(last)}`, unit: 'B', better: 'lower' },
      systems,
      (s) => level(s, last)?.rssBytesPerConnection,
    ),
  );
  return figures;
}

const positive = (v: number | null | undefined) => (v !== null && v !== undefined && v > 0 ? v : null);

function levelOrOnly(s: SystemResult, sessions: number): LevelResult | undefined {
  return s.name === 'bullmq' ? s.levels[0] : level(s, sessions);
}

function target(
  spec: Omit<TargetResult, 'pass'>,
  test: (value: number, limit: number) => boolean,
): TargetResult {
  const { value, limit } = spec;
  return { ...spec, pass: value === null || limit === null ? null : test(value, limit) };
}

/** The targets of issue 4, each evaluated against the baselines measured in the same run. */
export function computeTargets(
  systems: Systems,
  options: Pick<BenchOptionsRecord, 'sessions'>,
): TargetResult[] {
  const levels = [...options.sessions].sort((a, b) => a - b);
  const first = levels[0] ?? 0;
  const last = levels[levels.length - 1] ?? 0;
  const { project, bare, seed } = systems;
  const tp = (s: SystemResult | undefined, n: number) => level(s, n)?.throughput.median ?? null;
  const atLeast = (v: number, l: number) => v >= l;
  const atMost = (v: number, l: number) => v <= l;
  const bareP99 = bare?.latency?.p99Ms.median ?? null;
  return [
    target(
      {
        id: 'throughput-vs-bare',
        label: `throughput @ ${formatCount(first)} sessions ≥ 1.0× bare Socket.IO`,
        value: ratio(tp(project, first), tp(bare, first)),
        limit: 1.0,
        unit: '×',
      },
      atLeast,
    ),
    target(
      {
        id: 'throughput-vs-seed',
        label: `throughput @ ${formatCount(last)} sessions ≥ 2× io-session-handler`,
        value: ratio(tp(project, last), tp(seed, last)),
        limit: 2.0,
        unit: '×',
      },
      atLeast,
    ),
    target(
      {
        id: 'no-degradation',
        label: `throughput @ ${formatCount(last)} ≥ 0.9× @ ${formatCount(first)} sessions`,
        value: levels.length > 1 ? ratio(tp(project, last), tp(project, first)) : null,
        limit: 0.9,
        unit: '×',
      },
      atLeast,
    ),
    target(
      {
        id: 'latency-p99',
        label: 'p99 latency at 50% load ≤ bare p99 + 10 ms',
        value: project?.latency?.p99Ms.median ?? null,
        limit: bareP99 === null ? null : bareP99 + 10,
        unit: 'ms',
      },
      // A system that cannot sustain the rate misses, whatever the delivered few measured.
      (v, l) => !project?.latency?.saturated && v <= l,
    ),
    target(
      {
        id: 'connects',
        label: 'connects/s ≥ 0.8× bare Socket.IO',
        value: ratio(project?.connectsPerSec?.median, bare?.connectsPerSec?.median),
        limit: 0.8,
        unit: '×',
      },
      atLeast,
    ),
    target(
      {
        id: 'round-trips',
        label: '≤ 8 Redis round trips per delivered message',
        value: project?.roundTrips?.perMsg ?? null,
        limit: 8,
        unit: 'cmd',
      },
      atMost,
    ),
    target(
      {
        id: 'redis-bytes',
        label: '≤ 600 bytes of Redis per idle session',
        value: level(project, last)?.redisBytesPerSession ?? null,
        limit: 600,
        unit: 'B',
      },
      atMost,
    ),
    target(
      {
        id: 'rss',
        label: 'node memory per connection ≤ 1.2× bare Socket.IO',
        // A non-positive growth is noise (a GC between the readings), not a measurement.
        value: ratio(
          positive(level(project, last)?.rssBytesPerConnection),
          positive(level(bare, last)?.rssBytesPerConnection),
        ),
        limit: 1.2,
        unit: '×',
      },
      atMost,
    ),
  ];
}
