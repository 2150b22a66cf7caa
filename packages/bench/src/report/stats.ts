/** A figure measured once per run: every run's value and their median (null when no run produced one). */
export interface Measured {
  median: number | null;
  runs: number[];
}

/** The median of `values` (the mean of the two middle ones for an even count); null for none. */
export function median(values: readonly number[]): number | null {
  const finite = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (finite.length === 0) return null;
  const mid = finite.length >> 1;
  return finite.length % 2 === 1 ? finite[mid]! : (finite[mid - 1]! + finite[mid]!) / 2;
}

/** Collects the values of several runs with their median. */
export function measured(runs: readonly number[]): Measured {
  const kept = runs.filter((v) => Number.isFinite(v));
  return { median: median(kept), runs: kept };
}

/**
 * The nearest-rank percentile (`p` in 0..100) of an ascending array: the smallest value that at least p% of
 * the samples are less than or equal to. Null for no samples.
 */
export function percentile(sortedAscending: ArrayLike<number>, p: number): number | null {
  const n = sortedAscending.length;
  if (n === 0) return null;
  const rank = Math.min(n, Math.max(1, Math.ceil((p / 100) * n)));
  return sortedAscending[rank - 1]!;
}

/** `value / baseline`; null when either is missing or the baseline is zero. */
export function ratio(value: number | null | undefined, baseline: number | null | undefined): number | null {
  if (value === null || value === undefined || baseline === null || baseline === undefined) return null;
  if (!Number.isFinite(value) || !Number.isFinite(baseline) || baseline === 0) return null;
  return value / baseline;
}

/** Per-unit cost: `total / per`; null when nothing was delivered. */
export function perUnit(total: number, per: number): number | null {
  return per > 0 && Number.isFinite(total) ? total / per : null;
}
