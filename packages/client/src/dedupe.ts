/** A bounded set of message ids: when full, the least recently seen id is forgotten. */
export class RecentIds {
  readonly #ids = new Map<string, true>();

  constructor(readonly capacity: number) {}

  /** True if `id` is remembered; marks it as recently seen. */
  has(id: string): boolean {
    if (!this.#ids.has(id)) return false;
    this.#ids.delete(id);
    this.#ids.set(id, true);
    return true;
  }

  add(id: string): void {
    this.#ids.delete(id);
    this.#ids.set(id, true);
    while (this.#ids.size > this.capacity) {
      const oldest = this.#ids.keys().next();
      if (oldest.done) break;
      this.#ids.delete(oldest.value);
    }
  }

  get size(): number {
    return this.#ids.size;
  }
}
