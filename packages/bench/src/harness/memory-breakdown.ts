import type { Redis } from 'ioredis';

/** BullMQ's own keys of a queue (`<prefix>:<queue>:<suffix>`); any other suffix is a job id. */
const bullmqSuffixes = new Set([
  'wait',
  'paused',
  'active',
  'completed',
  'failed',
  'delayed',
  'prioritized',
  'events',
  'meta',
  'id',
  'stalled',
  'stalled-check',
  'marker',
  'pc',
  'limiter',
  'metrics',
  'repeat',
  'de',
]);

/**
 * A key's pattern, with what varies per session or message replaced: `bench:{bench.12}:s:s-5` →
 * `bench:{bench.#}:s:<token>`, `{bench}:session-events:session.started-Xy` → `{bench}:session-events:<job>`.
 */
export function keyPattern(key: string): string {
  const bull = /^(\{[^}]+\}):([^:]+):([^:]+)(:.*)?$/.exec(key);
  if (bull && !bullmqSuffixes.has(bull[3]!)) return `${bull[1]}:${bull[2]}:<job>${bull[4] ?? ''}`;
  return key
    .replace(/:(s|q|g):[^:]+$/, ':$1:<token>')
    .replace(/:m:[^:]+$/, ':m:<message>')
    .replace(/\.n\.[^}]+\}/, '.n.<node>}')
    .replace(/\{([^}.]+)\.\d+\}/, '{$1.#}');
}

export interface KeyGroup {
  pattern: string;
  keys: number;
  bytes: number;
}

/** Every key of the database grouped by pattern, with its MEMORY USAGE summed; largest first. */
export async function memoryByPattern(
  redis: { primaries: readonly { admin: Redis }[] },
  maxKeys = 500_000,
): Promise<KeyGroup[]> {
  const groups = new Map<string, KeyGroup>();
  for (const p of redis.primaries) await scanInto(p.admin, groups, maxKeys);
  return [...groups.values()].sort((a, b) => b.bytes - a.bytes);
}

async function scanInto(redis: Redis, groups: Map<string, KeyGroup>, maxKeys: number): Promise<void> {
  let cursor = '0';
  let seen = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'COUNT', 1000);
    cursor = next;
    seen += keys.length;
    const pipeline = redis.pipeline();
    for (const key of keys) pipeline.call('MEMORY', 'USAGE', key);
    const replies = (await pipeline.exec()) ?? [];
    keys.forEach((key, i) => {
      const pattern = keyPattern(key);
      const group = groups.get(pattern) ?? { pattern, keys: 0, bytes: 0 };
      group.keys += 1;
      group.bytes += Number(replies[i]?.[1] ?? 0);
      groups.set(pattern, group);
    });
  } while (cursor !== '0' && seen < maxKeys);
}

/** What the keys of each pattern grew by between two breakdowns, per unit (session), largest first. */
export function growthPer(before: KeyGroup[], after: KeyGroup[], units: number): Record<string, number> {
  const base = new Map(before.map((g) => [g.pattern, g.bytes]));
  return Object.fromEntries(
    after
      .map((g) => [g.pattern, (g.bytes - (base.get(g.pattern) ?? 0)) / Math.max(1, units)] as const)
      .filter(([, v]) => Math.abs(v) >= 1)
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => [k, Math.round(v)]),
  );
}
