export interface GroupCommitOptions<I, R> {
  bucketOf: (item: I) => number;
  /** On a Redis Cluster a call holds one bucket (its keys share a slot); on a single Redis many. */
  clustered: boolean;
  /** Most items of one call; larger batches are cut into several calls. */
  maxPerCall: number;
  /** 0: items of one event-loop turn go together; more: wait up to this long after the first (or until full). */
  windowMs: number;
  /** One script call over these groups; results per group, in order. */
  run: (groups: { bucket: number; items: I[] }[]) => Promise<R[][]>;
}

interface Waiting<I, R> {
  item: I;
  resolve: (r: R) => void;
  reject: (e: unknown) => void;
}

/**
 * Group commit in front of a Lua script: what arrives together is settled together, grouped by bucket, so that a
 * script call carries many items and each bucket's writes are one command per structure. Nothing waits when the
 * node is idle (one item, one call, at once); under load calls grow by themselves.
 */
export class GroupCommit<I, R> {
  #queue: Waiting<I, R>[] = [];
  #timer: NodeJS.Timeout | undefined;
  #scheduled = false;

  constructor(private readonly o: GroupCommitOptions<I, R>) {}

  submit(item: I): Promise<R> {
    return new Promise<R>((resolve, reject) => this.#add({ item, resolve, reject }));
  }

  /** Several items, one promise (no promise per item): their results in the order given. */
  submitMany(items: readonly I[]): Promise<R[]> {
    if (items.length === 0) return Promise.resolve([]);
    return new Promise<R[]>((resolve, reject) => {
      const results = new Array<R>(items.length);
      let left = items.length;
      let failed = false;
      items.forEach((item, i) =>
        this.#add({
          item,
          resolve: (r) => {
            results[i] = r;
            if (--left === 0 && !failed) resolve(results);
          },
          reject: (err) => {
            if (failed) return;
            failed = true;
            reject(err);
          },
        }),
      );
    });
  }

  #add(w: Waiting<I, R>): void {
    this.#queue.push(w);
    if (this.#queue.length >= this.o.maxPerCall) {
      this.#flush();
    } else if (!this.#scheduled) {
      this.#scheduled = true;
      if (this.o.windowMs > 0) this.#timer = setTimeout(() => this.#flush(), this.o.windowMs);
      else setImmediate(() => this.#flush());
    }
  }

  #flush(): void {
    clearTimeout(this.#timer);
    this.#scheduled = false;
    const batch = this.#queue;
    this.#queue = [];
    if (batch.length === 0) return;
    const byBucket = new Map<number, Waiting<I, R>[]>();
    for (const w of batch) {
      const b = this.o.bucketOf(w.item);
      const list = byBucket.get(b);
      if (list) list.push(w);
      else byBucket.set(b, [w]);
    }
    for (const call of this.#calls(byBucket)) this.#run(call);
  }

  /** Packs the bucket groups into calls of at most `maxPerCall` items (one bucket per call on a Cluster). */
  #calls(byBucket: Map<number, Waiting<I, R>[]>): { bucket: number; items: Waiting<I, R>[] }[][] {
    const calls: { bucket: number; items: Waiting<I, R>[] }[][] = [];
    let current: { bucket: number; items: Waiting<I, R>[] }[] = [];
    let size = 0;
    for (const [bucket, items] of byBucket) {
      for (let i = 0; i < items.length; i += this.o.maxPerCall) {
        const chunk = items.slice(i, i + this.o.maxPerCall);
        if (this.o.clustered || size + chunk.length > this.o.maxPerCall) {
          if (current.length > 0) calls.push(current);
          current = [];
          size = 0;
        }
        current.push({ bucket, items: chunk });
        size += chunk.length;
      }
    }
    if (current.length > 0) calls.push(current);
    return calls;
  }

  #run(call: { bucket: number; items: Waiting<I, R>[] }[]): void {
    this.o.run(call.map((g) => ({ bucket: g.bucket, items: g.items.map((w) => w.item) }))).then(
      (results) =>
        call.forEach((g, gi) => g.items.forEach((w, i) => w.resolve((results[gi] as R[])[i] as R))),
      (err: unknown) => call.forEach((g) => g.items.forEach((w) => w.reject(err))),
    );
  }
}
