import type { Logger } from './logger.js';

export interface BackgroundLoopOptions {
  name: string;
  intervalMs: number;
  logger: Logger;
  /** Longest wait before a tick after failures (the backoff's cap), in ms. Default 10 × `intervalMs`. */
  maxDelayMs?: number;
  /** Called with each failure (for a metric); the loop itself logs it and backs off. */
  onError?: (error: unknown) => void;
}

/**
 * Runs `tick` every `intervalMs` (±20% jitter, so that nodes do not sweep in lockstep) until stopped.
 * A failing tick never throws out of the loop: it is logged and the next one waits longer (up to 10×, or
 * `maxDelayMs`).
 */
export class BackgroundLoop {
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = true;
  #failures = 0;

  constructor(
    private readonly options: BackgroundLoopOptions,
    private readonly tick: () => Promise<void>,
  ) {}

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#schedule(Math.random() * this.options.intervalMs);
  }

  /** Runs a tick now (coalesced with one already running). */
  async runNow(): Promise<void> {
    if (this.#running) return this.#running;
    this.#running = this.tick()
      .then(() => {
        this.#failures = 0;
      })
      .catch((error: unknown) => {
        this.#failures += 1;
        this.options.onError?.(error);
        this.options.logger.warn(
          { err: error, loop: this.options.name },
          `${this.options.name} failed; will retry`,
        );
      })
      .finally(() => {
        this.#running = undefined;
      });
    return this.#running;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
  }

  #schedule(delay: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      void this.runNow().then(() => {
        const { intervalMs, maxDelayMs = intervalMs * 10 } = this.options;
        const jitter = 0.8 + Math.random() * 0.4;
        this.#schedule(Math.min(intervalMs * 2 ** this.#failures * jitter, Math.max(intervalMs, maxDelayMs)));
      });
    }, delay);
    this.#timer.unref();
  }
}
