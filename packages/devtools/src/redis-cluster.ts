import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { devtoolsDefaults } from './defaults.js';
import { pollUntil } from './poll.js';
import { freeClusterPort } from './ports.js';
import { ProcessGroup } from './processes.js';
import { localClient } from './redis-probe.js';
import { addNode, everyNodeKnowsAll, moveSlot, rebalance } from './redis-cluster-grow.js';
import { startRedisServer, type RedisServer } from './redis-server.js';

export interface RedisClusterOptions {
  /** Primaries. Default `devtoolsDefaults.clusterPrimaries` (3). */
  primaries?: number;
  /** Replicas of each primary. Default `devtoolsDefaults.clusterReplicasPerPrimary` (1). */
  replicasPerPrimary?: number;
  /** `--cluster-node-timeout` in ms. Default `devtoolsDefaults.clusterNodeTimeoutMs` (2000). */
  nodeTimeoutMs?: number;
  /** More arguments for every redis-server, e.g. `['--maxmemory-policy', 'noeviction']`. */
  extraArgs?: string[];
  /** The group that owns the processes. Default a new one. */
  group?: ProcessGroup;
}

/** A memory-only Redis Cluster this process started on 127.0.0.1. */
export interface RedisCluster {
  /** `127.0.0.1:<port>` of every node, as REDIS_CLUSTER takes them. */
  readonly seeds: string[];
  /** `redis://` URL of the first node. */
  readonly url: string;
  /** Every node's server by port, e.g. to kill one primary. */
  readonly servers: ReadonlyMap<number, RedisServer>;
  /** Ports of the nodes that are primaries now (and not failed), as CLUSTER NODES of a live node says. */
  primaryPorts(): Promise<number[]>;
  /**
   * Starts one more node and joins it as a primary without slots (`redis-cli --cluster add-node`); resolves with
   * its port once every node knows it. Its seed is added to `seeds`.
   */
  addPrimary(): Promise<number>;
  /** `redis-cli --cluster rebalance --cluster-use-empty-masters`: resolves once the slots are spread again. */
  rebalance(): Promise<void>;
  /** Moves one slot and its keys to the primary on `toPort` (CLUSTER SETSLOT / MIGRATE, as resharding does). */
  moveSlot(slot: number, toPort: number): Promise<void>;
  /** Stops every node and removes their nodes.conf files. */
  stop(): Promise<void>;
}

/**
 * Ports of the serving primaries in a CLUSTER NODES reply (`<id> <ip>:<port>@<bus> <flags> <master> <ping>
 * <pong> <epoch> <link> <slot> …`): flagged master, not failed, holding slots.
 */
export function primaryPortsOf(clusterNodes: string): number[] {
  return clusterNodes
    .split('\n')
    .map((line) => line.trim().split(' '))
    .filter((fields) => {
      const flags = fields[2]?.split(',') ?? [];
      return flags.includes('master') && !flags.some((f) => f.startsWith('fail')) && fields.length > 8;
    })
    .map((fields) => Number(fields[1]?.split('@')[0]?.split(':').pop()));
}

/** Every node says cluster_state:ok and sees all nodes, `primaries` of them serving primaries. */
async function clusterSettled(ports: number[], primaries: number): Promise<boolean> {
  const clients = ports.map((port) => localClient(port));
  try {
    const views = await Promise.all(
      clients.map(async (c) => {
        const [info, nodes] = await Promise.all([c.cluster('INFO'), c.cluster('NODES')]);
        return { info: String(info), nodes: String(nodes) };
      }),
    );
    return views.every(
      ({ info, nodes }) =>
        info.includes('cluster_state:ok') &&
        info.includes(`cluster_known_nodes:${ports.length}\r`) &&
        primaryPortsOf(nodes).length === primaries &&
        nodes.split('\n').filter((line) => line.includes(' slave ') || line.includes(',slave ')).length ===
          ports.length - primaries,
    );
  } catch {
    return false;
  } finally {
    for (const c of clients) c.disconnect();
  }
}

async function createCluster(group: ProcessGroup, seeds: string[], replicas: number): Promise<void> {
  const args = ['--cluster', 'create', ...seeds, '--cluster-replicas', String(replicas), '--cluster-yes'];
  const cli = group.spawn('redis-cli', 'redis-cli', args);
  if ((await cli.exited) !== 0) throw new Error(`redis-cli --cluster create failed:\n${cli.output()}`);
}

/**
 * Starts a real Redis Cluster on free ports (each with its bus port free too): `primaries` primaries with
 * `replicasPerPrimary` replicas each, memory only, made with `redis-cli --cluster create`; resolves when every
 * node reports `cluster_state:ok`. On failure everything it started is stopped.
 */
export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<RedisCluster> {
  const group = options.group ?? new ProcessGroup();
  const replicas = options.replicasPerPrimary ?? devtoolsDefaults.clusterReplicasPerPrimary;
  const primaries = options.primaries ?? devtoolsDefaults.clusterPrimaries;
  const count = primaries * (1 + replicas);
  const nodeTimeout = String(options.nodeTimeoutMs ?? devtoolsDefaults.clusterNodeTimeoutMs);
  const dir = mkdtempSync(join(tmpdir(), 'io-session-cluster-'));
  const taken = new Set<number>();
  const ports: number[] = [];
  for (let i = 0; i < count; i++) ports.push(await freeClusterPort(taken));
  const servers = new Map<number, RedisServer>();
  const stop = async (): Promise<void> => {
    await Promise.all([...servers.values()].map((s) => s.stop()));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const nodeArgs = (port: number) => [
      ...['--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`],
      ...['--cluster-node-timeout', nodeTimeout, ...(options.extraArgs ?? [])],
    ];
    const started = await Promise.allSettled(
      ports.map((port) => startRedisServer({ port, dir, group, extraArgs: nodeArgs(port) })),
    );
    for (const [i, s] of started.entries()) if (s.status === 'fulfilled') servers.set(ports[i]!, s.value);
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) throw failed.reason;
    const seeds = ports.map((port) => `127.0.0.1:${port}`);
    await createCluster(group, seeds, replicas);
    await pollUntil(() => clusterSettled(ports, primaries), {
      timeoutMs: devtoolsDefaults.clusterReadyTimeoutMs,
      intervalMs: 100,
      message: `every node of the Redis Cluster reports cluster_state:ok and ${primaries} primaries`,
    });
    const primaryPorts = (): Promise<number[]> => livePrimaryPorts(ports);
    const addPrimary = async (): Promise<number> => {
      const port = await freeClusterPort(taken);
      servers.set(port, await startRedisServer({ port, dir, group, extraArgs: nodeArgs(port) }));
      await joinAsPrimary({ group, ports, seeds, port });
      return port;
    };
    return {
      seeds,
      url: `redis://${seeds[0]}`,
      servers,
      primaryPorts,
      addPrimary,
      rebalance: () => rebalance(group, seeds[0]!),
      moveSlot: (slot, toPort) => moveSlot(ports[0]!, slot, toPort),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Joins the started node on `port` as an empty primary; resolves once every node knows it. */
async function joinAsPrimary(input: {
  group: ProcessGroup;
  ports: number[];
  seeds: string[];
  port: number;
}): Promise<void> {
  const { group, ports, seeds, port } = input;
  ports.push(port);
  await addNode(group, seeds[0]!, `127.0.0.1:${port}`);
  seeds.push(`127.0.0.1:${port}`);
  await pollUntil(() => everyNodeKnowsAll(ports), {
    timeoutMs: devtoolsDefaults.clusterReadyTimeoutMs,
    intervalMs: 100,
    message: `every node of the Redis Cluster knows the new primary ${port}`,
  });
}

async function livePrimaryPorts(ports: number[]): Promise<number[]> {
  for (const port of ports) {
    const client = localClient(port);
    try {
      return primaryPortsOf(String(await client.cluster('NODES')));
    } catch {
      // that node is down: ask the next one
    } finally {
      client.disconnect();
    }
  }
  throw new Error(`no node of the Redis Cluster answers (ports ${ports.join(', ')})`);
}
