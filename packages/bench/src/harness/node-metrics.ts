/** The counters of an io-session node's `/metrics` that the scaling runs read. */
export const SCALING_COUNTERS = {
  /** Keyspace notifications the node received (added with issue 12; absent on older nodes). */
  keyspace: 'ios_keyspace_events_total',
  /** Sharded pub/sub messages the node received. */
  pubsub: 'ios_pubsub_received_total',
} as const;

export type CounterName = keyof typeof SCALING_COUNTERS;

/**
 * The value of every sample of `name` in a Prometheus text exposition, summed over its labels; null when the
 * metric is not there.
 */
export function counterValue(text: string, name: string): number | null {
  let total: number | null = null;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== ' ' && rest[0] !== '{') continue;
    const value = Number(rest.slice(rest.lastIndexOf(' ') + 1));
    if (Number.isFinite(value)) total = (total ?? 0) + value;
  }
  return total;
}

/** The scaling counters of one node (null where absent, or all null when `/metrics` did not answer). */
export async function readCounters(url: string): Promise<Record<CounterName, number | null>> {
  let text = '';
  try {
    const res = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5000) });
    if (res.ok) text = await res.text();
  } catch {
    // a node that does not answer has no figure
  }
  return {
    keyspace: counterValue(text, SCALING_COUNTERS.keyspace),
    pubsub: counterValue(text, SCALING_COUNTERS.pubsub),
  };
}
