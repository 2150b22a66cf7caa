import { setTimeout as delay } from 'node:timers/promises';

export interface WaitOptions {
  /** Give up after this many ms. Default 10000. */
  timeout?: number;
  /** Poll every this many ms. Default 50. */
  interval?: number;
  /** Describes the condition in the timeout error. */
  message?: string;
}

/** `T` without its falsy members: what `waitUntil` resolves with. */
export type Truthy<T> = Exclude<T, false | 0 | '' | null | undefined>;

/**
 * Polls an external observable (an HTTP answer, a Redis key) until `fn` returns a truthy value, and returns it.
 * For conditions that have no event to wait for; never use it as a sleep.
 */
export async function waitUntil<T>(fn: () => T | Promise<T>, options: WaitOptions = {}): Promise<Truthy<T>> {
  const timeout = options.timeout ?? 10_000;
  const interval = options.interval ?? 50;
  const deadline = Date.now() + timeout;
  let last: unknown;
  for (;;) {
    try {
      const value = await fn();
      if (value) return value as Truthy<T>;
      last = value;
    } catch (err) {
      last = err;
    }
    if (Date.now() >= deadline) {
      const detail = last instanceof Error ? last.message : JSON.stringify(last);
      throw new Error(
        `waitUntil timed out after ${timeout} ms: ${options.message ?? fn.toString()} (last: ${detail})`,
      );
    }
    await delay(interval);
  }
}

/** Rejects with a clear message when `promise` has not settled within `ms`. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
