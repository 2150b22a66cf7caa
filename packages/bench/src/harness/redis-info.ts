import type { Redis } from 'ioredis';

/** What the bench reads from INFO before and after a measured window. */
export interface RedisSnapshot {
  /** Sum of `calls` over INFO commandstats, without the bench's own INFO calls. */
  commands: number;
  /** INFO stats total_commands_processed. */
  processed: number;
  /** INFO stats total_reads_processed (socket reads: network round trips). */
  reads: number;
  /** INFO cpu used_cpu_user + used_cpu_sys, seconds. */
  cpuS: number;
  /** INFO memory used_memory, bytes. */
  usedMemory: number;
  /** INFO memory mem_clients_normal: connection buffers, part of used_memory (noise for memory per session). */
  clientsMemory: number;
  /** calls per command (commandstats), for the profile. */
  byCommand: Record<string, number>;
  /** `cpuS` of each primary, in the order of `primaries` (summed snapshots only). */
  cpuByPrimary?: number[];
}

/** `key:value` lines of an INFO reply. */
export function parseInfo(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0 && !line.startsWith('#')) fields.set(line.slice(0, i), line.slice(i + 1));
  }
  return fields;
}

/** Parses INFO fields into a snapshot; `cmdstat_info` (the bench's own calls) is left out of `commands`. */
export function snapshotOf(fields: Map<string, string>): RedisSnapshot {
  const byCommand: Record<string, number> = {};
  let commands = 0;
  for (const [key, value] of fields) {
    if (!key.startsWith('cmdstat_')) continue;
    const calls = Number(/calls=(\d+)/.exec(value)?.[1] ?? 0);
    const name = key.slice('cmdstat_'.length);
    byCommand[name] = calls;
    if (name !== 'info') commands += calls;
  }
  const num = (k: string) => Number(fields.get(k) ?? 0);
  return {
    commands,
    processed: num('total_commands_processed'),
    reads: num('total_reads_processed'),
    cpuS: num('used_cpu_user') + num('used_cpu_sys'),
    usedMemory: num('used_memory'),
    clientsMemory: num('mem_clients_normal'),
    byCommand,
  };
}

async function snapshotOne(redis: Redis): Promise<RedisSnapshot> {
  // Redis 7 accepts several sections in one INFO call.
  const text = (await redis.call('INFO', 'commandstats', 'stats', 'cpu', 'memory')) as string;
  return snapshotOf(parseInfo(text));
}

/** A snapshot summed over every primary (one for a single Redis; each primary of a Redis Cluster). */
export async function takeSnapshot(redis: {
  primaries: readonly { admin: Redis }[];
}): Promise<RedisSnapshot> {
  const all = await Promise.all(redis.primaries.map((p) => snapshotOne(p.admin)));
  const sum: RedisSnapshot = {
    commands: 0,
    processed: 0,
    reads: 0,
    cpuS: 0,
    usedMemory: 0,
    clientsMemory: 0,
    byCommand: {},
    cpuByPrimary: all.map((s) => s.cpuS),
  };
  for (const s of all) {
    sum.commands += s.commands;
    sum.processed += s.processed;
    sum.reads += s.reads;
    sum.cpuS += s.cpuS;
    sum.usedMemory += s.usedMemory;
    sum.clientsMemory += s.clientsMemory;
    for (const [name, calls] of Object.entries(s.byCommand))
      sum.byCommand[name] = (sum.byCommand[name] ?? 0) + calls;
  }
  return sum;
}

export interface RedisDelta {
  commands: number;
  processed: number;
  reads: number;
  cpuS: number;
  byCommand: Record<string, number>;
  /** CPU seconds of each primary, when both snapshots have them. */
  cpuByPrimary?: number[];
}

export function deltaOf(before: RedisSnapshot, after: RedisSnapshot): RedisDelta {
  const byCommand: Record<string, number> = {};
  for (const [name, calls] of Object.entries(after.byCommand)) {
    const d = calls - (before.byCommand[name] ?? 0);
    if (d > 0 && name !== 'info') byCommand[name] = d;
  }
  return {
    commands: after.commands - before.commands,
    processed: after.processed - before.processed,
    reads: after.reads - before.reads,
    cpuS: after.cpuS - before.cpuS,
    byCommand,
    ...(before.cpuByPrimary && after.cpuByPrimary
      ? { cpuByPrimary: after.cpuByPrimary.map((v, i) => v - (before.cpuByPrimary?.[i] ?? v)) }
      : {}),
  };
}
