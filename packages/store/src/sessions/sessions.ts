import { randomBytes } from 'node:crypto';
import type { StoreContext } from '../context.js';
import { storeDefaults } from '../defaults.js';
import { parseJson } from '../json.js';
import type { ConnectReply } from '../scripts/scripts.js';
import type { OutboxItem, PendingMessage, Protocol, SessionEvent } from '../types.js';

export interface ConnectInput {
  token: string;
  socketId: string;
  instance: string;
  protocol: Protocol;
}

export type EventItem = Extract<OutboxItem, { kind: 'event' }> & {
  /** For sessions ended by the sweeper: the grace deadline, to measure how late the end came. */
  deadline?: number;
};

export interface ConnectResult {
  /** The session lifetime this connection joined or started. */
  sid: string;
  started: boolean;
  /**
   * Outbox entries this call appended, in order: `session.ended` of a previous lifetime whose grace had run
   * out unswept, then `session.started` when this call started the session.
   */
  events: EventItem[];
  data: unknown;
  /** The session's last push sequence: every pending message has a seq ≤ it, every later push a greater one. */
  seq: number;
  /** The first page of messages waiting for an acknowledgement, oldest first: send them to the new connection. */
  pending: PendingMessage[];
  /** Where the rest of the inbox starts (`inbox.read` from there); `seq + 1` when the page holds all of it. */
  next: number;
  /**
   * The socket had already been registered (a replayed call whose first reply was lost): nothing changed, and the
   * answer is the first call's — its session events (to publish: they were never heard) and the pending messages.
   */
  duplicate: boolean;
}

function eventItem(bucket: number, entryId: string, event: SessionEvent, deadline?: number): EventItem {
  return { kind: 'event', bucket, entryId, event, ...(deadline !== undefined ? { deadline } : {}) };
}

/** The events a connect appended (the ended lifetime's end, then the start), as the node publishes them. */
function connectEvents(
  bucket: number,
  input: { token: string; socketId: string },
  reply: Pick<ConnectReply, 'ended' | 'startedEntry' | 'sid' | 'prevSid'>,
): EventItem[] {
  const at = Date.now();
  const events: EventItem[] = [];
  if (reply.ended.entry) {
    const { sid, socketId: id, entry } = reply.ended;
    const ended: SessionEvent = {
      type: 'session.ended',
      token: input.token,
      sid,
      id,
      status: 0,
      at,
      reason: 'grace',
    };
    events.push(eventItem(bucket, entry, ended));
  }
  if (reply.startedEntry) {
    const started: SessionEvent = {
      type: 'session.started',
      token: input.token,
      sid: reply.sid,
      id: input.socketId,
      status: 1,
      at,
      ...(reply.prevSid ? { prev: reply.prevSid } : {}),
    };
    events.push(eventItem(bucket, reply.startedEntry, started));
  }
  return events;
}

/**
 * The lifecycle of sessions: connections come and go (connect, disconnect, reap), a session ends by logout or when
 * its grace runs out (expire), and carries the client's data. Every change is one Lua script; the scripts that end a
 * session share lua/includes/end-session.lua, which is where a session ends, once. Every script is safe to replay.
 */
export class Sessions {
  constructor(private readonly ctx: StoreContext) {}

  static newSessionId(): string {
    return randomBytes(12).toString('base64url');
  }

  async connect(input: ConnectInput): Promise<ConnectResult> {
    const k = this.ctx.keys.session(input.token);
    const span = storeDefaults.inboxSpanFactor * this.ctx.maxPending;
    const reply = await this.ctx.scripts.connect(
      k,
      { ...input, sid: Sessions.newSessionId(), page: storeDefaults.replayPage, scan: span },
      this.ctx.status,
    );
    const events = connectEvents(k.bucket, input, reply);
    return {
      sid: reply.sid,
      // A replay (code 3) of the call that started the session answers as that call would have.
      started: reply.code === 1 || reply.code === 2 || reply.startedEntry !== '',
      events,
      data: parseJson(reply.data),
      seq: reply.seq,
      pending: reply.pending,
      next: reply.next,
      duplicate: reply.code === 3,
    };
  }

  /** @returns `'grace'` when this was the session's last connection, `'remaining'`, or `'unknown'`. */
  async disconnect(input: {
    token: string;
    socketId: string;
    graceMs: number;
  }): Promise<'grace' | 'remaining' | 'unknown'> {
    const code = await this.ctx.scripts.disconnect(this.ctx.keys.session(input.token), input);
    return code === 1 ? 'grace' : code === 0 ? 'remaining' : 'unknown';
  }

  /**
   * Undoes a registration whose answer was lost (the connect may or may not have run): removes the connection like
   * `disconnect`. @returns the events that connect appended when it started the lifetime — never heard by the node,
   * so it publishes them now (the session's `session.ended` follows after the grace).
   */
  async undoConnect(input: { token: string; socketId: string; graceMs: number }): Promise<EventItem[]> {
    const k = this.ctx.keys.session(input.token);
    const { code, sid, ev } = await this.ctx.scripts.undoConnect(k, input);
    if (code < 0 || ev === '') return [];
    const kept = JSON.parse(ev) as { ended: [string, string, string]; started: string; prev: string };
    const [endedSid = '', socketId = '', entry = ''] = kept.ended;
    const ended = { sid: endedSid, socketId, entry };
    return connectEvents(k.bucket, input, { ended, startedEntry: kept.started, sid, prevSid: kept.prev });
  }

  /** Removes every connection a dead node instance held in one session. @returns how many. */
  reapConnections(input: { token: string; instance: string; graceMs: number }): Promise<number> {
    return this.ctx.scripts.reapConnections(this.ctx.keys.session(input.token), input);
  }

  /** Ends the due sessions of one bucket. Returns the `session.ended` events of the sessions this call ended. */
  async expireDue(bucket: number, limit: number = storeDefaults.expireBatch): Promise<EventItem[]> {
    const b = this.ctx.keys.bucket(bucket);
    const ended = await this.ctx.scripts.expireSessions(b, { limit }, this.ctx.status);
    const at = Date.now();
    return ended.map((e) =>
      eventItem(
        bucket,
        e.entry,
        {
          type: 'session.ended',
          token: e.token,
          sid: e.sid,
          id: e.lastSocketId,
          status: 0,
          at,
          reason: 'grace',
        },
        e.deadline,
      ),
    );
  }

  /** Stores data on a live session. @returns false when there is no such session. */
  async setData(token: string, data: unknown): Promise<boolean> {
    const k = this.ctx.keys.session(token);
    return (await this.ctx.scripts.setData(k, { data: JSON.stringify(data ?? null) })) === 1;
  }

  /**
   * Ends a session now. @returns its `session.ended` event and the node instances that held its connections (where
   * to route the logout), or null when there was no session. `requestId` makes
   * a replay of the same call (a lost reply) answer the same; a new one is drawn when absent.
   */
  async logout(
    token: string,
    requestId: string = randomBytes(9).toString('base64url'),
  ): Promise<{ event: EventItem; holders: string[] } | null> {
    const k = this.ctx.keys.session(token);
    const ended = await this.ctx.scripts.logout(k, { token, requestId }, this.ctx.status);
    if (!ended) return null;
    const holders =
      ended.holders === '' ? [] : ended.holders.split(',').map((h) => h.slice(0, h.lastIndexOf(':')));
    const event = eventItem(k.bucket, ended.entry, {
      type: 'session.ended',
      token,
      sid: ended.sid,
      id: ended.lastSocketId,
      status: 0,
      at: Date.now(),
      reason: 'logout',
    });
    return { event, holders };
  }
}
