import { join } from 'node:path';
import type { ProcessGroup } from '@io-session/devtools';
import { flushAll, type PrivateRedis } from '../harness/redis-server.js';
import type {
  ClientKind,
  ClusterReference,
  ProtocolProbe,
  ScalingResult,
  SystemResult,
} from '../report/results.js';
import { ProjectSystem } from '../systems/project.js';
import { fmt, type Context, type LatencyPlan } from './context.js';
import { measureScaling } from './scaling.js';
import { measureSessions, type SessionScope } from './sessions.js';

export interface ProjectOutcome {
  /** The first client kind measured: the one the targets are evaluated on. */
  primary: SystemResult | undefined;
  others: SystemResult[];
  probe: ProtocolProbe | null;
  scaling: ScalingResult | null;
  clusterReference: ClusterReference | null;
}

function project(
  ctx: Context,
  group: ProcessGroup,
  input: { kind: ClientKind; nodes?: number; redis?: PrivateRedis },
): ProjectSystem {
  const redis = input.redis ?? ctx.redis;
  return new ProjectSystem(group, {
    redisUrl: redis.url,
    redisCluster: redis.cluster,
    clientMode: input.kind,
    batch: ctx.options.batch,
    receipts: ctx.options.receipts,
    ...(input.nodes ? { nodes: input.nodes } : {}),
    ...(ctx.options.cpuProf ? { cpuProfDir: join(ctx.options.out, 'profiles') } : {}),
  });
}

/**
 * Does the node answer a `v: 3` handshake with `push_batch` frames? One raw probe connection to a small
 * system of its own (one node, receipts consumed in the bench), so that every measurement starts fresh.
 */
async function probeV3(ctx: Context, group: ProcessGroup): Promise<ProtocolProbe> {
  ctx.progress.line('io-session: probing whether the node speaks protocol v3');
  const system = new ProjectSystem(group, {
    redisUrl: ctx.redis.url,
    redisCluster: ctx.redis.cluster,
    clientMode: 'v3',
    batch: ctx.options.batch,
    nodes: 1,
    receipts: 'bullmq',
  });
  await system.start();
  const token = 'probe-v3';
  const r = await ctx.swarm
    .probe({ url: system.urls[0]!, token, timeoutMs: 10_000 }, () => system.pushOne(token, { probe: true }))
    .finally(() => system.stop());
  await flushAll(ctx.redis);
  const supported = r.event === 'push_batch' && r.ack;
  const detail = supported
    ? 'the node answers a v: 3 handshake with push_batch frames (with an acknowledgement callback)'
    : r.event === 'push_message'
      ? 'the node answers a v: 3 handshake with push_message events' +
        (r.ack ? ' (v2 envelopes)' : ' (the legacy fallback: it treats the unknown version as legacy)') +
        ': it does not speak protocol v3 yet, so the v3 row is not measured (it would measure the fallback)'
      : `no push reached a v: 3 probe connection within 10 s${r.error ? ` (${r.error})` : ''}: ` +
        'the v3 row is not measured';
  ctx.progress.line(`io-session: ${detail}`);
  return { supported, event: r.event, ack: r.ack, detail };
}

/**
 * io-session with each client kind as its own row (`--project-clients`, v3 first by default; v3 only when
 * the node speaks it): the first kind gets every figure (idle memory, the steady run), the others throughput
 * and, with `--kind-details all`, connects/s, latency and round trips; then the scaling series and, with
 * --redis-cluster, the single-Redis reference for the cluster's Redis CPU ratio.
 */
export async function measureProject(
  ctx: Context,
  deps: { group: ProcessGroup; single: PrivateRedis; latencyPlan: (ownMax: number | null) => LatencyPlan },
): Promise<ProjectOutcome> {
  const { options } = ctx;
  const out: ProjectOutcome = {
    primary: undefined,
    others: [],
    probe: null,
    scaling: null,
    clusterReference: null,
  };
  for (const kind of options.projectClients) {
    if (kind === 'v3') {
      out.probe = await probeV3(ctx, deps.group);
      if (!out.probe.supported) continue;
    }
    const first = out.primary === undefined;
    const scope: SessionScope = first
      ? { memory: true, details: true, steadyS: options.steadyS, groupMembers: options.groupMembers }
      : { memory: false, details: options.kindDetails === 'all', steadyS: 0 };
    const system = project(ctx, deps.group, { kind });
    const result = await measureSessions(ctx, system, deps.latencyPlan, scope);
    if (first) out.primary = result;
    else out.others.push(result);
    await flushAll(ctx.redis);
  }
  const primary = out.primary;
  const kind = primary?.clientKind;
  const max = primary?.levels[0]?.throughput.median;
  if (!primary || !kind || !max) return out;
  if (options.scaleNodes.length > 0) {
    const plan = options.scaleRate
      ? { ratePerSec: options.scaleRate, source: 'set with --scale-rate' }
      : {
          ratePerSec: Math.max(1, Math.round(max / 2)),
          source: `50% of ${primary.label}'s maximum (${fmt(max)}/s) at ${fmt(primary.levels[0]!.sessions)} sessions`,
        };
    const make = (nodes: number) => project(ctx, deps.group, { kind, nodes });
    out.scaling = await measureScaling(ctx, make, { plan, clientKind: kind });
  }
  if (options.redisCluster) out.clusterReference = await clusterReference(ctx, deps, kind);
  return out;
}

/** --redis-cluster: the first kind's throughput runs at the first session count on the single Redis. */
async function clusterReference(
  ctx: Context,
  deps: { group: ProcessGroup; single: PrivateRedis; latencyPlan: (ownMax: number | null) => LatencyPlan },
  kind: ClientKind,
): Promise<ClusterReference> {
  const sessions = ctx.options.sessions[0] ?? 0;
  ctx.progress.line(`io-session (${kind}) on the single Redis, for the cluster's Redis CPU ratio`);
  const cluster = ctx.redis;
  ctx.redis = deps.single;
  try {
    const system = project(ctx, deps.group, { kind, redis: deps.single });
    const result = await measureSessions(ctx, system, deps.latencyPlan, {
      memory: false,
      details: false,
      steadyS: 0,
      sessions: [sessions],
    });
    const level = result.levels[0];
    return {
      sessions,
      clientKind: kind,
      throughput: level?.throughput.median ?? null,
      redisCpuUsPerMsg: level?.redis?.cpuUsPerMsg.median ?? null,
    };
  } finally {
    await flushAll(deps.single);
    ctx.redis = cluster;
  }
}
