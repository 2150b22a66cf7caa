import { BackgroundLoop, type Logger, type PendingMessage, type SessionStore } from '@io-session/store';
import type { Socket } from 'socket.io';
import type { LocalEntry, LocalSessions } from '../connections/local-sessions.js';
import { handlerDefaults } from '../defaults.js';
import type { Sized, Sender } from '../protocol/sender.js';
import type { RoutedPush } from './route-channel.js';

export interface HoldingOptions {
  store: SessionStore;
  local: LocalSessions;
  logger: Logger;
  senderOf: (socket: Socket) => Sender | undefined;
  /** How often held sessions are compared with Redis. */
  resyncMs: number;
  onError: (error: unknown) => void;
}

/** A stored message as a node hands it to its senders. */
export function sized(m: PendingMessage): Sized {
  const { seq, id, ts, traceparent } = m;
  return { seq, id, ts, data: JSON.parse(m.text) as unknown, size: m.text.length, traceparent };
}

/**
 * Per-session order on the node that holds the session's sockets. Pushes reach a node in the order each pusher
 * stored them, but two pushers' packets may cross: the sequence numbers the store gave them put them back in order
 * (a push whose predecessor is missing waits `gapWaitMs`, then the gap is read from Redis). And nothing stored is
 * left behind: a resync every `resyncMs` compares each held session's last sequence in Redis with what the node
 * handed out, and reads what it missed — a pusher that crashed after storing, a lost or unheard publish, a
 * subscription that was moving with its slot.
 */
export class Holding {
  readonly #resync: BackgroundLoop;

  constructor(private readonly o: HoldingOptions) {
    this.#resync = new BackgroundLoop(
      { name: 'resync', intervalMs: o.resyncMs, logger: o.logger, onError: o.onError },
      () => this.resync(),
    );
  }

  start(): void {
    this.#resync.start();
  }

  async stop(): Promise<void> {
    await this.#resync.stop();
  }

  /** Pushes that arrived on this node's channel (or were stored by this node for its own sockets). */
  routed(pushes: readonly RoutedPush[]): void {
    const now = Date.now();
    for (const [token, seq, id, ts, data, size, traceparent] of pushes) {
      const entry = this.o.local.get(token);
      if (!entry) continue;
      entry.heardAt = now;
      this.#accept(entry, { seq, id, ts, data, size, traceparent });
    }
  }

  /** A registration answered with the session's lifetime and last sequence. */
  registered(entry: LocalEntry, sid: string, seq: number): void {
    if (entry.sid !== sid) {
      // A new lifetime starts its numbering again: forget the old one's.
      entry.sid = sid;
      entry.seq = seq;
      entry.waiting.clear();
    } else if (entry.seq < 0) {
      entry.seq = seq;
    }
    this.#drain(entry);
  }

  #accept(entry: LocalEntry, d: Sized): void {
    if (entry.seq >= 0 && d.seq <= entry.seq) return;
    if (entry.seq >= 0 && d.seq === entry.seq + 1) {
      this.#deliver(entry, d);
      this.#drain(entry);
      return;
    }
    entry.waiting.set(d.seq, d);
    if (entry.seq >= 0 && !entry.gapTimer && !entry.fetching) {
      entry.gapTimer = setTimeout(() => {
        entry.gapTimer = undefined;
        void this.fetch(entry);
      }, handlerDefaults.gapWaitMs);
      entry.gapTimer.unref();
    }
  }

  #deliver(entry: LocalEntry, d: Sized): void {
    entry.seq = d.seq;
    entry.waiting.delete(d.seq);
    for (const socket of entry.sockets.values()) this.o.senderOf(socket)?.offer(d);
  }

  #drain(entry: LocalEntry): void {
    if (entry.seq < 0) return;
    for (;;) {
      const next = entry.waiting.get(entry.seq + 1);
      if (!next) break;
      this.#deliver(entry, next);
    }
    for (const seq of entry.waiting.keys()) if (seq <= entry.seq) entry.waiting.delete(seq);
    if (entry.waiting.size === 0) {
      clearTimeout(entry.gapTimer);
      entry.gapTimer = undefined;
    }
  }

  /** Reads what this node missed of a session (from its seq on) and hands it out, page by page. */
  async fetch(entry: LocalEntry): Promise<void> {
    if (entry.fetching || entry.seq < 0) return;
    entry.fetching = true;
    try {
      for (let from = entry.seq + 1; ;) {
        const page = await this.o.store.inbox.read(entry.token, from);
        if (!page || this.o.local.get(entry.token) !== entry) return;
        for (const m of page.pending) if (m.seq > entry.seq) this.#deliver(entry, sized(m));
        if (page.next > page.seq) {
          // What is not pending between the node's seq and the session's last one was settled meanwhile.
          entry.seq = Math.max(entry.seq, page.seq);
          this.#drain(entry);
          return;
        }
        from = page.next;
      }
    } catch (err) {
      this.o.onError(err);
      this.o.logger.warn({ err, token: entry.token }, 'could not read missing pushes; the resync will retry');
    } finally {
      entry.fetching = false;
    }
  }

  /** Compares every held session's last sequence in Redis with this node's, and fetches what is missing. */
  async resync(): Promise<void> {
    const quietBefore = Date.now() - handlerDefaults.resyncQuietMs;
    const entries = [...this.o.local.entries()].filter(
      (e) => e.seq >= 0 && !e.fetching && e.heardAt < quietBefore,
    );
    if (entries.length === 0) return;
    const sequences = await this.o.store.inbox.sequences(entries.map((e) => e.token));
    await Promise.all(
      entries.map(async (entry) => {
        const seq = sequences.get(entry.token);
        if (seq !== undefined && seq > entry.seq) await this.fetch(entry);
      }),
    );
  }
}
