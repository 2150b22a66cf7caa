/** Sums every sample of each metric in a Prometheus text exposition, by metric name (labels ignored). */
export function parseMetrics(text: string): Map<string, number> {
  const sums = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const value = Number(match[3]);
    if (!Number.isFinite(value)) continue;
    const name = match[1] as string;
    sums.set(name, (sums.get(name) ?? 0) + value);
  }
  return sums;
}

/** One sample of the cluster-wide message counters. */
export interface Sample {
  at: number;
  pushed: number;
  delivered: number;
  pending: number;
}

export interface Rates {
  at: number;
  pushesPerSec: number;
  deliveriesPerSec: number;
  pending: number;
}

/** Keeps the last `size` samples and turns counter deltas into per-second rates. */
export class RateSeries {
  readonly #samples: Sample[] = [];

  constructor(readonly size: number) {}

  add(sample: Sample): void {
    const last = this.#samples.at(-1);
    if (last && sample.at <= last.at) return;
    this.#samples.push(sample);
    if (this.#samples.length > this.size + 1) this.#samples.shift();
  }

  rates(): Rates[] {
    const out: Rates[] = [];
    for (let i = 1; i < this.#samples.length; i++) {
      const a = this.#samples[i - 1] as Sample;
      const b = this.#samples[i] as Sample;
      const dt = (b.at - a.at) / 1000;
      out.push({
        at: b.at,
        // Counters only grow; a drop means they were reset (e.g. a new key prefix): count it as 0.
        pushesPerSec: Math.max(0, b.pushed - a.pushed) / dt,
        deliveriesPerSec: Math.max(0, b.delivered - a.delivered) / dt,
        pending: b.pending,
      });
    }
    return out;
  }
}
