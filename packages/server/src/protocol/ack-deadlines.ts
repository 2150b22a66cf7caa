/** What the sweep asks of a sender with acknowledgements outstanding. */
export interface AwaitsAcks {
  /** Gives up what waited past its deadline; @returns whether anything is still outstanding. */
  expire(now: number): boolean;
}

/**
 * Acknowledgement deadlines of every connection of a node, checked by one sweep (`everyMs`) instead of a timer
 * per frame or message: a timer per emit costs more than the rest of sending it. A sender is watched while it
 * waits for acknowledgements and forgotten once it has none outstanding.
 */
export class AckDeadlines {
  readonly #watched = new Set<AwaitsAcks>();
  readonly #timer: NodeJS.Timeout;

  constructor(everyMs: number) {
    this.#timer = setInterval(() => this.sweep(Date.now()), everyMs);
    this.#timer.unref();
  }

  watch(sender: AwaitsAcks): void {
    this.#watched.add(sender);
  }

  forget(sender: AwaitsAcks): void {
    this.#watched.delete(sender);
  }

  sweep(now: number): void {
    for (const sender of this.#watched) if (!sender.expire(now)) this.#watched.delete(sender);
  }

  /** How many connections wait for acknowledgements. */
  get size(): number {
    return this.#watched.size;
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#watched.clear();
  }
}
