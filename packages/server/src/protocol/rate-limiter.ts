/** A token bucket per connection: `ratePerSec` events a second, bursts up to twice that. */
export class RateLimiter {
  #tokens: number;
  #last = performance.now();

  constructor(private readonly ratePerSec: number) {
    this.#tokens = ratePerSec * 2;
  }

  take(): boolean {
    const now = performance.now();
    this.#tokens = Math.min(
      this.ratePerSec * 2,
      this.#tokens + ((now - this.#last) / 1000) * this.ratePerSec,
    );
    this.#last = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}

/** What to do with one more refused event of a connection. */
export type FloodVerdict = 'reply' | 'quiet' | 'disconnect';

export interface FloodGuardOptions {
  /** Refused events tolerated within `windowMs`; one more disconnects. */
  maxRefusals: number;
  /** The window refusals are counted in, in ms. */
  windowMs: number;
  /** Shortest time between two answers to refused events, in ms. */
  replyIntervalMs: number;
  /** The clock, in ms (tests). Default `performance.now`. */
  now?: () => number;
}

/**
 * Keeps a flooding connection from costing more than it is allowed: of the events its rate limiter refuses,
 * at most one per `replyIntervalMs` is answered (`session_error rate_limited`), and past `maxRefusals` within
 * `windowMs` the connection is to be disconnected. Count refusals only (events the limiter let through
 * are paid for by the limiter).
 */
export class FloodGuard {
  readonly #o: Required<FloodGuardOptions>;
  #windowStart: number;
  #refusals = 0;
  #lastReply = Number.NEGATIVE_INFINITY;
  #tripped = false;

  constructor(options: FloodGuardOptions) {
    this.#o = { now: () => performance.now(), ...options };
    this.#windowStart = this.#o.now();
  }

  /** One more refused event: answer it, drop it quietly, or disconnect (said once; `quiet` after that). */
  refused(): FloodVerdict {
    if (this.#tripped) return 'quiet';
    const now = this.#o.now();
    if (now - this.#windowStart >= this.#o.windowMs) {
      this.#windowStart = now;
      this.#refusals = 0;
    }
    this.#refusals += 1;
    if (this.#refusals > this.#o.maxRefusals) {
      this.#tripped = true;
      return 'disconnect';
    }
    if (now - this.#lastReply < this.#o.replyIntervalMs) return 'quiet';
    this.#lastReply = now;
    return 'reply';
  }
}
