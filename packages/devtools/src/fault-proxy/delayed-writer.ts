import type { Socket } from 'node:net';

/**
 * Writes chunks to a socket in order, each no sooner than `latencyMs()` after it was handed over, and holds
 * everything while `held()` is true (a partitioned link). Nothing is reordered or dropped by this class. What
 * waits is kept in memory (`pendingBytes`): a test tool, for partitions of seconds, not for hours.
 */
export class DelayedWriter {
  readonly #queue: { at: number; chunk: Buffer }[] = [];
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly socket: Socket,
    private readonly latencyMs: () => number,
    private readonly held: () => boolean,
  ) {}

  write(chunk: Buffer): void {
    const latency = this.latencyMs();
    if (latency <= 0 && this.#queue.length === 0 && !this.held()) {
      this.#send(chunk);
      return;
    }
    this.#queue.push({ at: Date.now() + latency, chunk });
    this.flush();
  }

  /** Sends what is due; called again by its own timer, and by the proxy when a partition heals. */
  flush(): void {
    if (this.#timer) return;
    while (this.#queue.length > 0 && !this.held()) {
      const head = this.#queue[0]!;
      const wait = head.at - Date.now();
      if (wait > 0) {
        this.#timer = setTimeout(() => {
          this.#timer = undefined;
          this.flush();
        }, wait);
        return;
      }
      this.#queue.shift();
      this.#send(head.chunk);
    }
  }

  /** Bytes waiting (delayed or held). */
  get pendingBytes(): number {
    return this.#queue.reduce((sum, item) => sum + item.chunk.length, 0);
  }

  close(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#queue.length = 0;
  }

  #send(chunk: Buffer): void {
    if (!this.socket.destroyed) this.socket.write(chunk);
  }
}
