interface Waiting<T> {
  items: T[];
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit in front of a batch handler: at most one call runs at a time, and everything submitted
 * while it runs goes into the next call. Nodes add one `session-events` job per event, so this is what
 * turns the events of concurrently running jobs into one webhook POST: no latency when idle, batches
 * as large as the job concurrency under load. A failing call rejects every submission it carried.
 */
export class Batcher<T> {
  #waiting: Waiting<T>[] = [];
  #running = false;

  constructor(private readonly handler: (items: T[]) => unknown) {}

  /** Resolves once a handler call that carried `items` has resolved. */
  submit(items: T[]): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#waiting.push({ items, resolve, reject });
      if (!this.#running) void this.#run();
    });
  }

  async #run(): Promise<void> {
    this.#running = true;
    while (this.#waiting.length > 0) {
      const batch = this.#waiting;
      this.#waiting = [];
      try {
        await this.handler(batch.flatMap((w) => w.items));
        for (const w of batch) w.resolve();
      } catch (error) {
        for (const w of batch) w.reject(error);
      }
    }
    this.#running = false;
  }
}
