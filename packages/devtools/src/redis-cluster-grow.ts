import type { ProcessGroup } from './processes.js';
import { localClient } from './redis-probe.js';

/**
 * Growing a running local Redis Cluster the way an operator does: `redis-cli --cluster add-node` joins an empty
 * primary, `redis-cli --cluster rebalance --cluster-use-empty-masters` moves slots to it while clients keep
 * working, and single slots move with the documented CLUSTER SETSLOT / MIGRATE procedure.
 */

async function cli(group: ProcessGroup, what: string, args: string[]): Promise<void> {
  const child = group.spawn('redis-cli', 'redis-cli', args);
  if ((await child.exited) !== 0) throw new Error(`redis-cli ${what} failed:\n${child.output()}`);
}

/** `redis-cli --cluster add-node <new> <existing>`: the new node joins as a primary without slots. */
export function addNode(group: ProcessGroup, seed: string, added: string): Promise<void> {
  return cli(group, '--cluster add-node', ['--cluster', 'add-node', added, seed]);
}

/** `redis-cli --cluster rebalance <seed> --cluster-use-empty-masters`: resolves once every slot moved. */
export function rebalance(group: ProcessGroup, seed: string): Promise<void> {
  const args = ['--cluster', 'rebalance', seed, '--cluster-use-empty-masters', '--cluster-pipeline', '100'];
  return cli(group, '--cluster rebalance', args);
}

/** Every node says cluster_state:ok and knows all `ports`. */
export async function everyNodeKnowsAll(ports: number[]): Promise<boolean> {
  const clients = ports.map((port) => localClient(port));
  try {
    const infos = await Promise.all(clients.map(async (c) => String(await c.cluster('INFO'))));
    return infos.every(
      (info) => info.includes('cluster_state:ok') && info.includes(`cluster_known_nodes:${ports.length}\r`),
    );
  } catch {
    return false;
  } finally {
    for (const c of clients) c.disconnect();
  }
}

/** The node id and port of the primary serving `slot`, read from CLUSTER NODES text. */
function ownerOf(nodes: string, slot: number): { id: string; port: number } | undefined {
  for (const line of nodes.split('\n')) {
    const fields = line.trim().split(' ');
    if (!fields[2]?.includes('master')) continue;
    for (const range of fields.slice(8)) {
      if (range.startsWith('[')) continue;
      const [from, to = from] = range.split('-').map(Number);
      if (from !== undefined && slot >= from && slot <= to!)
        return { id: fields[0]!, port: Number(fields[1]!.split('@')[0]!.split(':').pop()) };
    }
  }
  return undefined;
}

/** Node ids of the primaries, by port. */
function primaryIds(nodes: string): Map<number, string> {
  const ids = new Map<number, string>();
  for (const line of nodes.split('\n')) {
    const fields = line.trim().split(' ');
    if (fields[2]?.includes('master'))
      ids.set(Number(fields[1]!.split('@')[0]!.split(':').pop()), fields[0]!);
  }
  return ids;
}

/**
 * Moves one slot (and its keys) to the primary on `toPort`, as redis-cli's resharding does: IMPORTING on the
 * target, MIGRATING on the source, MIGRATE the keys, then SETSLOT NODE on the target, the source and the others.
 * Nothing to do when the target owns it already.
 */
export async function moveSlot(anyPort: number, slot: number, toPort: number): Promise<void> {
  const probe = localClient(anyPort);
  const nodes = String(await probe.cluster('NODES').finally(() => probe.disconnect()));
  const owner = ownerOf(nodes, slot);
  const ids = primaryIds(nodes);
  const targetId = ids.get(toPort);
  if (!owner || !targetId) throw new Error(`slot ${slot} or primary ${toPort} not found in CLUSTER NODES`);
  if (owner.port === toPort) return;
  const [source, target] = [localClient(owner.port), localClient(toPort)];
  try {
    await target.call('CLUSTER', 'SETSLOT', slot, 'IMPORTING', owner.id);
    await source.call('CLUSTER', 'SETSLOT', slot, 'MIGRATING', targetId);
    for (;;) {
      const keys = (await source.call('CLUSTER', 'GETKEYSINSLOT', slot, 100)) as string[];
      if (keys.length === 0) break;
      await source.call('MIGRATE', '127.0.0.1', toPort, '', 0, 5000, 'REPLACE', 'KEYS', ...keys);
    }
    await target.call('CLUSTER', 'SETSLOT', slot, 'NODE', targetId);
    await source.call('CLUSTER', 'SETSLOT', slot, 'NODE', targetId);
    for (const port of ids.keys()) {
      if (port === toPort || port === owner.port) continue;
      const other = localClient(port);
      await other.call('CLUSTER', 'SETSLOT', slot, 'NODE', targetId).finally(() => other.disconnect());
    }
  } finally {
    source.disconnect();
    target.disconnect();
  }
}
