import type { BenchOptionsRecord, BenchResult, ScalingRun, SystemResult, TargetResult } from './results.js';
import { ratio } from './stats.js';
import { busiestPrimaryShare, formatCount, level, sessionLevels, throughputAt } from './summary.js';

type Measured = Pick<BenchResult, 'systems' | 'projectKinds' | 'scaling' | 'clusterReference'>;
type Options = Pick<BenchOptionsRecord, 'sessions' | 'redisCluster'>;
type Spec = Omit<TargetResult, 'pass' | 'issue'>;

const atLeast = (v: number, l: number) => v >= l;
const atMost = (v: number, l: number) => v <= l;
/** "Flat" from 1 to N node processes: at N at most this many times the figure at 1 (noise of one run each). */
export const FLAT_TOLERANCE = 1.2;

function target(issue: 12 | 4, spec: Spec, test: (value: number, limit: number) => boolean): TargetResult {
  const { value, limit } = spec;
  return { ...spec, issue, pass: value === null || limit === null ? null : test(value, limit) };
}

const positive = (v: number | null | undefined) => (v !== null && v !== undefined && v > 0 ? v : null);

/** "v2 0.45×, legacy 0.40×": the other client kinds' throughput ratios to bare at a session count. */
function otherKinds(m: Measured, n: number): string | undefined {
  const bare = throughputAt(m.systems.bare, n);
  const parts = (m.projectKinds ?? []).map((k) => {
    const r = ratio(throughputAt(k, n), bare);
    return `${k.clientKind ?? k.label} ${r === null ? '–' : `${r.toFixed(2)}×`}`;
  });
  return parts.length > 0 ? parts.join(', ') : undefined;
}

function throughputTargets(m: Measured, levels: number[]): TargetResult[] {
  const { project, bare } = m.systems;
  return levels.map((n) => {
    const detail = otherKinds(m, n);
    return target(
      12,
      {
        id: `throughput@${n}`,
        label: `throughput @ ${formatCount(n)} sessions ≥ 1.0× bare Socket.IO`,
        value: ratio(throughputAt(project, n), throughputAt(bare, n)),
        limit: 1.0,
        unit: '×',
        ...(detail ? { detail } : {}),
      },
      atLeast,
    );
  });
}

function costTargets(project: SystemResult | undefined, first: number): TargetResult[] {
  const cost = level(project, first);
  return [
    target(
      12,
      {
        id: 'redis-cpu',
        label: 'Redis CPU ≤ 10 µs per delivered message',
        value: cost?.redis?.cpuUsPerMsg.median ?? null,
        limit: 10,
        unit: 'µs',
      },
      atMost,
    ),
    target(
      12,
      {
        id: 'node-cpu',
        label: 'node CPU ≤ 60 µs per delivered message',
        value: cost?.cpuUsPerMsg.nodes.median ?? null,
        limit: 60,
        unit: 'µs',
      },
      atMost,
    ),
  ];
}

function sessionTargets(m: Measured, options: Options, last: number): TargetResult[] {
  const { project, bare } = m.systems;
  const bareP99 = bare?.latency?.p99Ms.median ?? null;
  const steady = project?.steady;
  return [
    target(
      12,
      {
        id: 'latency-p99',
        label: "p99 at 50% of bare's max ≤ bare p99 + 10 ms",
        value: project?.latency?.p99Ms.median ?? null,
        limit: bareP99 === null ? null : bareP99 + 10,
        unit: 'ms',
      },
      // A system that cannot sustain the rate misses, whatever the delivered few measured.
      (v, l) => !project?.latency?.saturated && v <= l,
    ),
    target(
      12,
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
      12,
      {
        id: 'redis-bytes',
        label: `≤ 600 B of Redis per idle session${options.redisCluster ? ' (Redis Cluster, all primaries)' : ''}`,
        // A non-positive growth is noise (connection buffers shrank meanwhile), not a measurement.
        value: positive(level(project, last)?.redisBytesPerSession),
        limit: 600,
        unit: 'B',
      },
      atMost,
    ),
    target(
      12,
      {
        id: 'redis-held',
        label: '≤ 250 B of Redis held per delivered message (with the worker)',
        // Only a run with the worker consuming receipts measures what the target is about.
        value: steady?.consumer === 'worker' ? (steady.bytesPerMsg ?? null) : null,
        limit: 250,
        unit: 'B',
        ...(steady && steady.consumer !== 'worker' ? { detail: 'measured with --receipts bullmq' } : {}),
      },
      atMost,
    ),
  ];
}

function flat(
  m: Measured,
  spec: { id: string; label: string; unit: string; pick: (r: ScalingRun) => number | null },
): TargetResult {
  const runs = m.scaling?.runs ?? [];
  const one = runs.find((r) => r.nodes === 1);
  const most = runs.length > 1 ? runs[runs.length - 1] : undefined;
  const a = one ? spec.pick(one) : null;
  const b = most ? spec.pick(most) : null;
  // None at 1 node: flat if none at the most nodes either, growing if some.
  const growth = a === 0 && b !== null ? (b === 0 ? 1 : Number.POSITIVE_INFINITY) : ratio(b, a);
  return target(
    12,
    {
      id: spec.id,
      label: `${spec.label} flat, 1 → ${most?.nodes ?? 4} nodes`,
      value: growth,
      limit: FLAT_TOLERANCE,
      unit: '×',
      ...(a !== null && b !== null
        ? { detail: `${formatNumberish(a)} → ${formatNumberish(b)} ${spec.unit}` }
        : m.scaling
          ? { detail: 'not exported by the nodes' }
          : {}),
    },
    atMost,
  );
}

const formatNumberish = (v: number) => (Math.abs(v) >= 10 ? v.toFixed(0) : v.toPrecision(2));

/** Keyspace notifications received by all nodes ÷ messages delivered (idle to idle). */
export function keyspacePerMsg(r: ScalingRun): number | null {
  if (!r.keyspacePerNodePerSec || r.delivered <= 0) return null;
  return (r.keyspacePerNodePerSec.reduce((a, b) => a + b, 0) * r.seconds) / r.delivered;
}

function clusterTargets(m: Measured, first: number): TargetResult[] {
  const { project } = m.systems;
  const share = busiestPrimaryShare(project, first);
  return [
    target(
      12,
      {
        id: 'cluster-primary-share',
        label: 'Redis Cluster: no primary > 50% of the Redis CPU',
        value: share === null ? null : share * 100,
        limit: 50,
        unit: '%',
      },
      atMost,
    ),
    target(
      12,
      {
        id: 'cluster-redis-cpu',
        label: 'Redis Cluster: Redis CPU per message ≤ 1.5× single Redis',
        value: ratio(level(project, first)?.redis?.cpuUsPerMsg.median, m.clusterReference?.redisCpuUsPerMsg),
        limit: 1.5,
        unit: '×',
      },
      atMost,
    ),
  ];
}

/** Targets of issue 4 that issue 12 does not restate, kept below for comparison. */
function earlierTargets(m: Measured, levels: number[]): TargetResult[] {
  const { project, bare, seed } = m.systems;
  const first = levels[0] ?? 0;
  const last = levels[levels.length - 1] ?? 0;
  return [
    target(
      4,
      {
        id: 'throughput-vs-seed',
        label: `throughput @ ${formatCount(last)} sessions ≥ 2× io-session-handler`,
        value: ratio(throughputAt(project, last), throughputAt(seed, last)),
        limit: 2.0,
        unit: '×',
      },
      atLeast,
    ),
    target(
      4,
      {
        id: 'no-degradation',
        label: `throughput @ ${formatCount(last)} ≥ 0.9× @ ${formatCount(first)} sessions`,
        value: levels.length > 1 ? ratio(throughputAt(project, last), throughputAt(project, first)) : null,
        limit: 0.9,
        unit: '×',
      },
      atLeast,
    ),
    target(
      4,
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
      4,
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

/**
 * The targets of issue 12, evaluated on io-session's first client kind (v3 when the node speaks it) against
 * the baselines of the same run; with --redis-cluster also the cluster's; then the earlier targets of issue 4.
 */
export function computeTargets(m: Measured, options: Options): TargetResult[] {
  const { levels, first, last } = sessionLevels(options);
  const project = m.systems.project;
  return [
    ...throughputTargets(m, levels),
    ...costTargets(project, first),
    ...sessionTargets(m, options, last),
    flat(m, {
      id: 'flat-node-cpu',
      label: 'node CPU per message',
      unit: 'µs',
      pick: (r) => r.nodeCpuUsPerMsg,
    }),
    flat(m, {
      id: 'flat-keyspace',
      label: 'keyspace events per message (all nodes)',
      unit: 'per msg',
      pick: keyspacePerMsg,
    }),
    ...(options.redisCluster ? clusterTargets(m, first) : []),
    ...earlierTargets(m, levels),
  ];
}
