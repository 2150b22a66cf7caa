/** The data of every benchmark push: when it was sent, in which measured phase (0 = not measured), a counter. */
export interface PushData {
  /** Send time, ms since the epoch with sub-ms precision (`performance.timeOrigin + performance.now()`). */
  t: number;
  /** Latency phase this push belongs to; 0 for warm-up and drain pushes. */
  p: number;
  n: number;
}

export interface PushItem {
  token: string;
  data: PushData;
}

/** What a system under test offers the load generator. */
export interface LoadTarget {
  /** Sends pushes (one batch: at most `batch` items). */
  send(items: PushItem[]): void | Promise<void>;
  /** Pushes delivered so far (acknowledged by a client, or — for the project — receipted), cumulative. */
  delivered(): number;
}

export interface LoadSpec {
  /** closed: keep `window` pushes in flight (maximum throughput); open: send at `ratePerSec` (latency). */
  mode: 'closed' | 'open';
  window: number;
  ratePerSec: number;
  /** Pushes per `send` call (per BullMQ job for the project). */
  batch: number;
  warmupMs: number;
  durationMs: number;
  /** How long to wait for the pushes still in flight after the measured window. */
  drainMs: number;
  /** Pushes go to tokens `${tokenPrefix}${i}`, i uniform in [0, sessions). */
  tokenPrefix: string;
  sessions: number;
  /** Latency phase id carried in the data of pushes sent inside the measured window. */
  phase: number;
  /** Most pushes sent in one turn of the loop, so that the event loop (sockets, IPC) keeps running. Default 1000. */
  maxPerTurn?: number;
}

export interface LoadResult {
  /** Delivered per second inside the measured window. */
  deliveredPerSec: number;
  /** Sent per second inside the measured window. */
  sentPerSec: number;
  deliveredInWindow: number;
  windowMs: number;
  sent: number;
  /** Pushes never delivered before the drain timeout. */
  undelivered: number;
}

export interface LoadHooks {
  /** Called at the start and at the end of the measured window (Redis snapshots). */
  onWindow?: (edge: 'start' | 'end') => Promise<void> | void;
  /** About once a second. */
  onSecond?: (info: { elapsedMs: number; sent: number; delivered: number; perSec: number }) => void;
}

export const nowMs = (): number => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Longest the measured window of a closed-loop run waits for the steady state after the warm-up. */
const MAX_EXTRA_WARMUP_MS = 30_000;
/** Open-loop sends happen on a 5 ms tick: each tick sends what the rate says is due since the last one. */
const OPEN_TICK_MS = 5;

/** The measured window of a run: delivered and sent counts and times at its two edges. */
interface Window {
  started: boolean;
  end: number;
  d0: number;
  s0: number;
  t0: number;
  d1: number;
  s1: number;
  t1: number;
}

/** One run of the load generator (state of `runLoad`). */
class LoadRun {
  readonly #base: number;
  readonly #start = nowMs();
  readonly #warmedUp: number;
  readonly #maxPerTurn: number;
  readonly #window: Window;
  #sent = 0;
  #phase = 0;
  #n = 0;
  #nextSecond: number;
  #lastSecondDelivered = 0;

  constructor(
    private readonly target: LoadTarget,
    private readonly spec: LoadSpec,
    private readonly hooks: LoadHooks,
  ) {
    this.#base = target.delivered();
    this.#warmedUp = this.#start + spec.warmupMs;
    this.#nextSecond = this.#start + 1000;
    this.#maxPerTurn = spec.maxPerTurn ?? 1000;
    const t = this.#warmedUp;
    this.#window = { started: false, end: Infinity, d0: 0, s0: 0, t0: t, d1: 0, s1: 0, t1: t };
  }

  #done(): number {
    return this.target.delivered() - this.#base;
  }

  #batchOf(count: number, at: number): PushItem[] {
    const items: PushItem[] = new Array<PushItem>(count);
    for (let i = 0; i < count; i++) {
      const token = `${this.spec.tokenPrefix}${Math.floor(Math.random() * this.spec.sessions)}`;
      items[i] = { token, data: { t: at, p: this.#phase, n: this.#n++ } };
    }
    return items;
  }

  /** Opens the window once warmed up and steady; closes it after `durationMs`. True once it is closed. */
  async #edges(now: number): Promise<boolean> {
    const w = this.#window;
    const spec = this.spec;
    // Closed loop: measure from the steady state on, once a whole window has been delivered (its first pushes
    // wait behind the rest of the window), however long the warm-up it takes (up to MAX_EXTRA_WARMUP_MS).
    const steady =
      spec.mode === 'open' || this.#done() >= spec.window || now >= this.#warmedUp + MAX_EXTRA_WARMUP_MS;
    if (!w.started && now >= this.#warmedUp && steady) {
      w.started = true;
      await this.hooks.onWindow?.('start');
      w.t0 = nowMs();
      w.end = w.t0 + spec.durationMs;
      w.d0 = this.#done();
      w.s0 = this.#sent;
      this.#phase = spec.phase;
    }
    if (now < w.end) return false;
    this.#phase = 0;
    w.d1 = this.#done();
    w.s1 = this.#sent;
    w.t1 = nowMs();
    await this.hooks.onWindow?.('end');
    return true;
  }

  #second(now: number): void {
    if (now < this.#nextSecond) return;
    const delivered = this.#done();
    this.hooks.onSecond?.({
      elapsedMs: now - this.#start,
      sent: this.#sent,
      delivered,
      perSec: delivered - this.#lastSecondDelivered,
    });
    this.#lastSecondDelivered = delivered;
    this.#nextSecond += 1000;
  }

  /** Pushes to send now: room in the closed-loop window, or what the open-loop rate says is due. */
  #due(now: number): number {
    const spec = this.spec;
    if (spec.mode === 'closed') {
      const room = spec.window - (this.#sent - this.#done());
      return room >= spec.batch ? Math.min(room - (room % spec.batch), this.#maxPerTurn) : 0;
    }
    return Math.min(
      Math.floor(((now - this.#start) * spec.ratePerSec) / 1000) - this.#sent,
      this.#maxPerTurn,
    );
  }

  async #send(due: number): Promise<void> {
    const at = nowMs();
    const sends: (void | Promise<void>)[] = [];
    for (let i = 0; i < due; i += this.spec.batch) {
      sends.push(this.target.send(this.#batchOf(Math.min(this.spec.batch, due - i), at)));
    }
    this.#sent += due;
    await Promise.all(sends);
  }

  async run(): Promise<LoadResult> {
    const open = this.spec.mode === 'open';
    for (;;) {
      const now = nowMs();
      if (await this.#edges(now)) break;
      this.#second(now);
      const due = this.#due(now);
      if (due <= 0) {
        await sleep(open ? OPEN_TICK_MS : 1);
        continue;
      }
      await this.#send(due);
      // Open loop: wait for the next tick, unless this turn was capped and the schedule is still ahead.
      if (open && due < this.#maxPerTurn) await sleep(OPEN_TICK_MS);
      else await new Promise<void>((resolve) => setImmediate(resolve));
    }
    const drainUntil = Date.now() + this.spec.drainMs;
    while (this.#done() < this.#sent && Date.now() < drainUntil) await sleep(5);
    const w = this.#window;
    const windowMs = Math.max(1, w.t1 - w.t0);
    return {
      deliveredPerSec: ((w.d1 - w.d0) * 1000) / windowMs,
      sentPerSec: ((w.s1 - w.s0) * 1000) / windowMs,
      deliveredInWindow: w.d1 - w.d0,
      windowMs,
      sent: this.#sent,
      undelivered: Math.max(0, this.#sent - this.#done()),
    };
  }
}

/**
 * Drives a system: closed loop (a window of pushes in flight, as fast as it delivers: maximum throughput) or
 * open loop (a fixed rate whatever happens: latency without coordinated omission of the generator). After a
 * warm-up it measures `durationMs`, then stops sending and waits for what is in flight.
 */
export function runLoad(target: LoadTarget, spec: LoadSpec, hooks: LoadHooks = {}): Promise<LoadResult> {
  return new LoadRun(target, spec, hooks).run();
}
