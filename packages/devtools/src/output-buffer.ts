import { devtoolsDefaults } from './defaults.js';

/** Keeps the last `limit` characters a process wrote, to show when something fails. */
export class OutputBuffer {
  #text = '';
  constructor(private readonly limit: number = devtoolsDefaults.outputLimit) {}

  append(chunk: Buffer | string): void {
    this.#text += chunk.toString();
    if (this.#text.length > this.limit) this.#text = this.#text.slice(-this.limit);
  }

  toString(): string {
    return this.#text;
  }
}
