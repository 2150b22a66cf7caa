import { setTimeout as delay } from 'node:timers/promises';
import { devtoolsDefaults } from './defaults.js';

export interface PollOptions {
  /** Give up after this many ms. */
  timeoutMs: number;
  /** What is waited for, for the timeout error ("redis-server on port 6380 answers PING"). */
  message: string;
  /** Check every this many ms. Default `devtoolsDefaults.pollIntervalMs`. */
  intervalMs?: number;
  /**
   * When true, a check that throws counts as "not yet" (its error is quoted in the timeout error); when false
   * (the default), it ends the wait at once with that error: a check can give up early ("the process exited").
   */
  retryErrors?: boolean;
}

/** `T` without its falsy members: what `pollUntil` resolves with. */
export type Truthy<T> = Exclude<T, false | 0 | '' | null | undefined>;

export const sleep = (ms: number): Promise<void> => delay(ms);

/**
 * Calls `check` until it returns a truthy value, and resolves with it; rejects with `message` after
 * `timeoutMs`. For conditions that have no event to wait for (a port answering, a Redis key), never as a sleep.
 */
export async function pollUntil<T>(check: () => T | Promise<T>, options: PollOptions): Promise<Truthy<T>> {
  const deadline = Date.now() + options.timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value as Truthy<T>;
      last = value;
    } catch (err) {
      if (!options.retryErrors) throw err;
      last = err;
    }
    if (Date.now() >= deadline) {
      const detail = last instanceof Error ? last.message : JSON.stringify(last);
      throw new Error(`timed out after ${options.timeoutMs} ms: ${options.message} (last: ${detail})`);
    }
    await delay(options.intervalMs ?? devtoolsDefaults.pollIntervalMs);
  }
}
