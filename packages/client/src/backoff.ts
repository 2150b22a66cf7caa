/** Exponential backoff with jitter: attempt 0 waits about `min`, each later one twice as long, up to `max`. */
export function backoffDelay(
  attempt: number,
  options: { min: number; max: number; jitter: number },
  random: () => number = Math.random,
): number {
  const base = Math.min(options.max, options.min * 2 ** Math.min(attempt, 30));
  return Math.round(base * (1 - options.jitter * random()));
}
