import { pollUntil, type Truthy } from '@io-session/devtools';

export type { Truthy };

export interface WaitOptions {
  /** Give up after this many ms. Default 10000. */
  timeout?: number;
  /** Poll every this many ms. Default 50. */
  interval?: number;
  /** Describes the condition in the timeout error. */
  message?: string;
}

/**
 * Polls an external observable (an HTTP answer, a Redis key) until `fn` returns a truthy value, and returns it;
 * a check that throws counts as "not yet". For conditions that have no event to wait for; never use it as a sleep.
 */
export function waitUntil<T>(fn: () => T | Promise<T>, options: WaitOptions = {}): Promise<Truthy<T>> {
  return pollUntil(fn, {
    timeoutMs: options.timeout ?? 10_000,
    intervalMs: options.interval ?? 50,
    message: options.message ?? fn.toString(),
    retryErrors: true,
  });
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
