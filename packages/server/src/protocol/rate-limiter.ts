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
