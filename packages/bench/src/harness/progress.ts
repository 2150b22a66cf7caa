/** Progress lines on stderr, each prefixed with the time since the bench started. */
export class Progress {
  readonly #start = Date.now();
  constructor(private readonly write: (line: string) => void = (l) => process.stderr.write(`${l}\n`)) {}

  line(text: string): void {
    const s = ((Date.now() - this.#start) / 1000).toFixed(1).padStart(6);
    this.write(`[${s}s] ${text}`);
  }

  get elapsedS(): number {
    return (Date.now() - this.#start) / 1000;
  }
}
