import type { BenchOptionsRecord, Figure, LevelResult, SystemName, SystemResult } from './results.js';
import { ratio } from './stats.js';
import { busiestPrimaryShare, formatCount, level, levelOrOnly, sessionLevels } from './summary.js';

type Systems = Partial<Record<SystemName, SystemResult>>;
type Baseline = Exclude<SystemName, 'project'>;
type Spec = Omit<Figure, 'values' | 'ratios'> & { noRatios?: boolean };
type Picker = (s: SystemResult) => number | null | undefined;
const baselines: Baseline[] = ['bare', 'seed', 'bullmq'];
const at = (n: number) => `@ ${formatCount(n)} sessions`;

function figure(spec: Spec, systems: Systems, pick: Picker): Figure {
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

function throughputFigures(systems: Systems, levels: number[]): Figure[] {
  return levels.map((n) =>
    figure(
      { key: `throughput@${n}`, label: `pushes/s ${at(n)}`, unit: 'msg/s', better: 'higher' },
      systems,
      (s) => (s.name === 'bullmq' ? s.levels[0]?.throughput.median : level(s, n)?.throughput.median),
    ),
  );
}

function latencyFigures(systems: Systems): Figure[] {
  const ms = { unit: 'ms', better: 'lower' } as const;
  return [
    figure(
      { key: 'latency-p50', label: 'latency p50 (50% load)', ...ms },
      systems,
      (s) => s.latency?.p50Ms.median,
    ),
    figure(
      { key: 'latency-p99', label: 'latency p99 (50% load)', ...ms },
      systems,
      (s) => s.latency?.p99Ms.median,
    ),
    figure(
      { key: 'latency-own-p99', label: 'latency p99 at 50% of own max, if saturated', ...ms },
      systems,
      (s) => s.latency?.ownHalf?.p99Ms.median,
    ),
    figure({ key: 'connects', label: 'connects/s', unit: '1/s', better: 'higher' }, systems, (s) =>
      s.connectsPerSec ? s.connectsPerSec.median : null,
    ),
  ];
}

/** A picker of a level's figure at the first session count (raw BullMQ: its only level). */
function atFirst(first: number, pick: (l: LevelResult) => number | null | undefined): Picker {
  return (s) => {
    const l = levelOrOnly(s, first);
    return l ? pick(l) : null;
  };
}

function costFigures(systems: Systems, first: number): Figure[] {
  const lower = { better: 'lower' } as const;
  return [
    figure(
      { key: 'round-trips', label: 'Redis round trips/msg (MONITOR)', unit: 'cmd', ...lower },
      systems,
      (s) => s.roundTrips?.perMsg,
    ),
    figure(
      {
        key: 'redis-commands',
        label: `Redis commands/msg incl. scripts ${at(first)}`,
        unit: 'cmd',
        ...lower,
      },
      systems,
      atFirst(first, (l) => l.redis?.commandsPerMsg.median),
    ),
    figure(
      { key: 'redis-reads', label: `Redis socket reads/msg ${at(first)}`, unit: 'reads', ...lower },
      systems,
      atFirst(first, (l) => l.redis?.readsPerMsg.median),
    ),
    figure(
      { key: 'redis-cpu', label: `Redis CPU µs/msg ${at(first)}`, unit: 'µs', ...lower },
      systems,
      atFirst(first, (l) => l.redis?.cpuUsPerMsg.median),
    ),
    figure(
      { key: 'node-cpu', label: `node CPU µs/msg ${at(first)}`, unit: 'µs', ...lower },
      systems,
      atFirst(first, (l) => l.cpuUsPerMsg?.nodes.median),
    ),
    figure(
      {
        key: 'worker-cpu',
        label: `io-session worker CPU µs/msg ${at(first)}`,
        unit: 'µs',
        ...lower,
        noRatios: true,
      },
      systems,
      atFirst(first, (l) => l.cpuUsPerMsg?.worker?.median),
    ),
  ];
}

/** --redis-cluster: how unevenly the Redis CPU falls on the primaries. */
function clusterFigures(systems: Systems, first: number): Figure[] {
  return [
    figure(
      {
        key: 'redis-busiest-primary',
        label: `Redis CPU share of the busiest primary ${at(first)}`,
        unit: '%',
        better: 'lower',
      },
      systems,
      (s) => {
        const share = busiestPrimaryShare(s, first);
        return share === null ? null : share * 100;
      },
    ),
  ];
}

function memoryFigures(systems: Systems, first: number, last: number): Figure[] {
  // The baselines keep (next to) nothing per session or message in Redis: a ratio would say nothing.
  const bytes = { unit: 'B', better: 'lower', noRatios: true } as const;
  const steady = systems.project?.steady;
  const held = steady
    ? `Redis bytes held/msg, ${steady.durationS} s steady, ${steady.consumer === 'worker' ? 'with io-session worker' : 'plain BullMQ receipts'}`
    : 'Redis bytes held/msg, steady, with io-session worker';
  return [
    figure(
      { key: 'redis-bytes', label: `Redis bytes/idle session ${at(last)}`, ...bytes },
      systems,
      (s) => level(s, last)?.redisBytesPerSession,
    ),
    figure(
      { key: 'redis-retained', label: `Redis bytes retained/msg ${at(first)}`, ...bytes },
      systems,
      (s) => levelOrOnly(s, first)?.redisBytesRetainedPerMsg,
    ),
    figure({ key: 'redis-held', label: held, ...bytes }, systems, (s) => s.steady?.bytesPerMsg),
    figure(
      { key: 'rss', label: `node RSS bytes/idle connection ${at(last)}`, unit: 'B', better: 'lower' },
      systems,
      (s) => level(s, last)?.rssBytesPerConnection,
    ),
  ];
}

function groupFigures(systems: Systems): Figure[] {
  const run = systems.project?.groupPush;
  if (!run) return [];
  return [
    figure(
      {
        key: 'group-push',
        label: `messages/s delivered to members of a ${formatCount(run.members)}-member group`,
        unit: 'msg/s',
        better: 'higher',
        noRatios: true,
      },
      systems,
      (s) => s.groupPush?.messagesPerSec,
    ),
  ];
}

/**
 * The rows of the summary table: each figure for every system measured, and the project's ratio to each
 * baseline. Throughput is per session count; raw BullMQ has no sessions, so its one jobs/s figure stands in
 * every throughput row (the ceiling of a one-job-per-push design). Costs are taken at the first session
 * count, memory per session at the last (the largest, where the per-session figure is least noisy).
 */
export function computeFigures(
  systems: Systems,
  options: Pick<BenchOptionsRecord, 'sessions' | 'redisCluster'>,
): Figure[] {
  const { levels, first, last } = sessionLevels(options);
  return [
    ...throughputFigures(systems, levels),
    ...latencyFigures(systems),
    ...costFigures(systems, first),
    ...(options.redisCluster ? clusterFigures(systems, first) : []),
    ...memoryFigures(systems, first, last),
    ...groupFigures(systems),
  ];
}
