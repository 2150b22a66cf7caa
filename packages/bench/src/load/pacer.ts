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

/**
 * Drives a system: closed loop (a window of pushes in flight, as fast as it delivers: maximum throughput) or
 * open loop (a fixed rate whatever happens: latency without coordinated omission of the generator). After a
 * warm-up it measures `durationMs`, then stops sending and waits for what is in flight.
 */
export async function runLoad(
  target: LoadTarget,
  spec: LoadSpec,
  hooks: LoadHooks = {},
): Promise<LoadResult> {
  const base = target.delivered();
  const done = () => target.delivered() - base;
  const start = nowMs();
  const warmedUp = start + spec.warmupMs;
  let windowEnd = Infinity;
  let sent = 0;
  let phase = 0;
  let d0 = 0;
  let s0 = 0;
  let t0 = warmedUp;
  let d1 = 0;
  let s1 = 0;
  let t1 = warmedUp;
  let started = false;
  let nextSecond = start + 1000;
  let lastSecondDelivered = 0;
  let n = 0;
  const maxPerTurn = spec.maxPerTurn ?? 1000;

  const batchOf = (count: number, at: number): PushItem[] => {
    const items: PushItem[] = new Array<PushItem>(count);
    for (let i = 0; i < count; i++) {
      const token = `${spec.tokenPrefix}${Math.floor(Math.random() * spec.sessions)}`;
      items[i] = { token, data: { t: at, p: phase, n: n++ } };
    }
    return items;
  };

  for (;;) {
    const now = nowMs();
    // Closed loop: measure from the steady state on, once a whole window has been delivered (its first pushes
    // wait behind the rest of the window), however long the warm-up it takes (up to MAX_EXTRA_WARMUP_MS).
    const steady = spec.mode === 'open' || done() >= spec.window || now >= warmedUp + MAX_EXTRA_WARMUP_MS;
    if (!started && now >= warmedUp && steady) {
      started = true;
      await hooks.onWindow?.('start');
      t0 = nowMs();
      windowEnd = t0 + spec.durationMs;
      d0 = done();
      s0 = sent;
      phase = spec.phase;
    }
    if (now >= windowEnd) {
      phase = 0;
      d1 = done();
      s1 = sent;
      t1 = nowMs();
      await hooks.onWindow?.('end');
      break;
    }
    if (now >= nextSecond) {
      const delivered = done();
      hooks.onSecond?.({
        elapsedMs: now - start,
        sent,
        delivered,
        perSec: delivered - lastSecondDelivered,
      });
      lastSecondDelivered = delivered;
      nextSecond += 1000;
    }
    let due: number;
    if (spec.mode === 'closed') {
      const room = spec.window - (sent - done());
      due = room >= spec.batch ? Math.min(room - (room % spec.batch), maxPerTurn) : 0;
    } else {
      due = Math.min(Math.floor(((now - start) * spec.ratePerSec) / 1000) - sent, maxPerTurn);
    }
    if (due <= 0) {
      await sleep(spec.mode === 'open' ? OPEN_TICK_MS : 1);
      continue;
    }
    const at = nowMs();
    const sends: (void | Promise<void>)[] = [];
    for (let i = 0; i < due; i += spec.batch) {
      sends.push(target.send(batchOf(Math.min(spec.batch, due - i), at)));
    }
    sent += due;
    await Promise.all(sends);
    // Open loop: wait for the next tick, unless this turn was capped and the schedule is still ahead.
    if (spec.mode === 'open' && due < maxPerTurn) await sleep(OPEN_TICK_MS);
    else await new Promise<void>((resolve) => setImmediate(resolve));
  }

  const drainUntil = Date.now() + spec.drainMs;
  while (done() < sent && Date.now() < drainUntil) await sleep(5);
  const windowMs = Math.max(1, t1 - t0);
  return {
    deliveredPerSec: ((d1 - d0) * 1000) / windowMs,
    sentPerSec: ((s1 - s0) * 1000) / windowMs,
    deliveredInWindow: d1 - d0,
    windowMs,
    sent,
    undelivered: Math.max(0, sent - done()),
  };
}
