import type { RedisClient } from '../redis.js';
import type { PendingMessage } from '../types.js';
import { defineScripts } from './load.js';
import { runScript, type ReplicaWait } from './replica-wait.js';

type Arg = string | number;
type Reply = (string | number)[];
type Command = (...args: Arg[]) => Promise<unknown>;

/** The status settings every script that settles or drops a message needs. */
export interface StatusArgs {
  retentionMs: number;
  slotMs: number;
}

export interface ConnectReply {
  /** 0 joined, 1 started, 2 ended the previous lifetime and started, 3 already registered (a replay). */
  code: 0 | 1 | 2 | 3;
  sid: string;
  data: string;
  /** The session's last push sequence. */
  seq: number;
  /** Where the rest of the inbox starts; `seq + 1` when this page holds all of it. */
  next: number;
  ended: { sid: string; socketId: string; entry: string };
  startedEntry: string;
  prevSid: string;
  pending: PendingMessage[];
}

export interface PushMessageArgs {
  token: string;
  id: string;
  ttlMs: number;
  /** The id may already be settled (it came from an app or a job): look up settled statuses too. */
  maySettled: boolean;
  /** Canonical JSON text. */
  text: string;
}

export interface PushReply {
  /** 1 stored, 2 pending duplicate, 3 settled duplicate, 0 no session, -2 id conflict, -4 inbox full, -5 backlog. */
  code: number;
  seq: number;
  holders: string;
}

export interface AckArgs {
  token: string;
  seq: number;
  id: string;
  /** The receipt's JSON text up to its data: `{"id":…,"token":…,"nodeId":…,"socketId":…`. */
  head: string;
}

export interface AckReply {
  /** 1 settled, 0 already delivered, -1 unknown, -2 another token's, -3 expired. */
  code: number;
  at: number;
}

export interface ExpiredReply {
  token: string;
  sid: string;
  lastSocketId: string;
  entry: string;
  deadline: number;
}

function pendingFrom(reply: Reply, start: number): PendingMessage[] {
  const out: PendingMessage[] = [];
  for (let i = start; i + 3 < reply.length; i += 4) {
    out.push({
      seq: Number(reply[i]),
      id: String(reply[i + 1]),
      ts: Number(reply[i + 2]),
      text: String(reply[i + 3]),
    });
  }
  return out;
}

/**
 * The thin façade over the Lua scripts: one typed method per `lua/<name>-<keys>.lua` file, arguments in (keys
 * first, as the file header lists them), decoded reply out. Nothing else happens here.
 */
export class Scripts {
  constructor(private readonly redis: RedisClient) {
    defineScripts(redis);
  }

  #run<T>(command: string, ...args: Arg[]): Promise<T> {
    return ((this.redis as unknown as Record<string, Command>)[command] as Command)(...args) as Promise<T>;
  }

  async connect(
    k: { session: string; tag: string },
    a: {
      token: string;
      socketId: string;
      instance: string;
      protocol: number;
      sid: string;
      page: number;
      scan: number;
    },
    s: StatusArgs,
  ): Promise<ConnectReply> {
    const r = await this.#run<Reply>(
      'iosConnect',
      k.session,
      k.tag,
      a.token,
      a.socketId,
      a.instance,
      a.protocol,
      a.sid,
      s.retentionMs,
      s.slotMs,
      a.page,
      a.scan,
    );
    return {
      code: Number(r[0]) as ConnectReply['code'],
      sid: String(r[1]),
      data: String(r[2]),
      seq: Number(r[3]),
      next: Number(r[4]),
      ended: { sid: String(r[5]), socketId: String(r[6]), entry: String(r[7]) },
      startedEntry: String(r[8]),
      prevSid: String(r[9]),
      pending: pendingFrom(r, 10),
    };
  }

  /** @returns 1 grace started, 0 other connections remain, -1 unknown connection. */
  disconnect(k: { session: string; tag: string }, a: { token: string; socketId: string; graceMs: number }) {
    return this.#run<number>('iosDisconnect', k.session, k.tag, a.token, a.socketId, a.graceMs);
  }

  /** @returns how many connections of the instance were removed. */
  reapConnections(
    k: { session: string; tag: string },
    a: { token: string; instance: string; graceMs: number },
  ) {
    return this.#run<number>('iosReapConnections', k.session, k.tag, a.token, a.instance, a.graceMs);
  }

  async expireSessions(
    k: { due: string; tag: string },
    a: { limit: number },
    s: StatusArgs,
  ): Promise<ExpiredReply[]> {
    const flat = await this.#run<Reply>('iosExpireSessions', k.due, k.tag, a.limit, s.retentionMs, s.slotMs);
    const ended: ExpiredReply[] = [];
    for (let i = 0; i + 4 < flat.length; i += 5) {
      ended.push({
        token: String(flat[i]),
        sid: String(flat[i + 1]),
        lastSocketId: String(flat[i + 2]),
        entry: String(flat[i + 3]),
        deadline: Number(flat[i + 4]),
      });
    }
    return ended;
  }

  /** @returns 1 stored, 0 no such session. */
  setData(k: { session: string }, a: { data: string }): Promise<number> {
    return this.#run('iosSetData', k.session, a.data);
  }

  /** @returns the ended lifetime (now, or by the first run of this request id), or null without a session. */
  async logout(
    k: { session: string; tag: string },
    a: { token: string; requestId: string },
    s: StatusArgs,
  ): Promise<{ sid: string; lastSocketId: string; entry: string; holders: string } | null> {
    const r = await this.#run<Reply>(
      'iosLogout',
      k.session,
      k.tag,
      a.token,
      a.requestId,
      s.retentionMs,
      s.slotMs,
    );
    if (Number(r[0]) !== 1) return null;
    const [, sid = '', lastSocketId = '', entry = '', holders = ''] = r.map(String);
    return { sid, lastSocketId, entry, holders };
  }

  /** @returns the session's last seq, a page of its pending messages from `from` on and where the next page starts. */
  async readPending(
    k: { route: string; tag: string },
    a: { token: string; from: number; page: number; scan: number },
    s: StatusArgs,
  ): Promise<{ seq: number; next: number; pending: PendingMessage[] } | null> {
    const r = await this.#run<Reply>(
      'iosReadPending',
      k.route,
      k.tag,
      a.token,
      a.from,
      a.page,
      a.scan,
      s.retentionMs,
      s.slotMs,
    );
    if (Number(r[0]) < 0) return null;
    return { seq: Number(r[0]), next: Number(r[1]), pending: pendingFrom(r, 2) };
  }

  /**
   * push.lua over groups of one bucket each (one group per call on a Redis Cluster), optionally followed by `WAIT`
   * in the same pipeline (it runs on the node that ran the script). Replies in the order given, and the Redis time.
   */
  async push(
    groups: { tag: string; route: string; messages: PushMessageArgs[] }[],
    limits: StatusArgs & { cap: number; outboxMax: number; span: number; scan: number },
    wait?: ReplicaWait,
  ): Promise<{ now: number; replies: PushReply[]; replicas?: number }> {
    const args: Arg[] = [groups[0]?.route ?? '', limits.retentionMs, limits.slotMs, limits.cap];
    args.push(limits.outboxMax, limits.span, limits.scan);
    for (const g of groups) {
      args.push(g.tag, g.messages.length);
      for (const m of g.messages) {
        // The stored value's tail "<#id>|<id><data>" (#id in bytes, as Lua counts): built here, not per message in Lua.
        const tail = `${Buffer.byteLength(m.id)}|${m.id}${m.text}`;
        args.push(m.token, m.id, m.ttlMs, m.maySettled ? 1 : 0, tail);
      }
    }
    const { reply, replicas } = await runScript<Reply>(this.redis, 'iosPush', args, wait);
    const replies: PushReply[] = [];
    for (let i = 1; i + 2 < reply.length; i += 3) {
      replies.push({ code: Number(reply[i]), seq: Number(reply[i + 1]), holders: String(reply[i + 2]) });
    }
    return { now: Number(reply[0]), replies, ...(replicas !== undefined ? { replicas } : {}) };
  }

  /** ack.lua over groups of one bucket each. Replies in the order given, the outbox entry and the Redis time. */
  async ack(
    groups: { tag: string; route: string; acks: AckArgs[] }[],
    s: StatusArgs,
  ): Promise<{ now: number; entry: string; replies: AckReply[] }> {
    const args: Arg[] = [groups[0]?.route ?? '', s.retentionMs, s.slotMs];
    for (const g of groups) {
      args.push(g.tag, g.acks.length);
      for (const a of g.acks) args.push(a.token, a.seq, `${Buffer.byteLength(a.id)}|${a.id}`, a.head);
    }
    const reply = await this.#run<Reply>('iosAck', ...args);
    const replies: AckReply[] = [];
    for (let i = 2; i + 1 < reply.length; i += 2)
      replies.push({ code: Number(reply[i]), at: Number(reply[i + 1]) });
    return { now: Number(reply[0]), entry: String(reply[1]), replies };
  }

  /** @returns the settled message, 'none' when no pending message has that data, 'budget' when spent. */
  async ackByData(
    k: { session: string; tag: string },
    a: { token: string; text: string; head: string; scan: number; ratePerSec: number },
    s: StatusArgs,
  ): Promise<{ seq: number; id: string; at: number; entry: string } | 'none' | 'budget'> {
    const r = await this.#run<Reply>(
      'iosAckByData',
      k.session,
      k.tag,
      a.token,
      a.text,
      a.head,
      a.scan,
      a.ratePerSec,
      s.retentionMs,
      s.slotMs,
    );
    const code = Number(r[0]);
    if (code === -5) return 'budget';
    if (code !== 1) return 'none';
    return { seq: Number(r[1]), id: String(r[2]), at: Number(r[3]), entry: String(r[4]) };
  }

  /** @returns 1 alive, 0 the instance had been declared dead. */
  heartbeat(
    k: { live: string; reaping: string; info: string },
    a: { instance: string; ttlMs: number; first: boolean; report: string },
  ): Promise<number> {
    return this.#run(
      'iosHeartbeat',
      k.live,
      k.reaping,
      k.info,
      a.instance,
      a.ttlMs,
      a.first ? '1' : '0',
      a.report,
    );
  }

  /** @returns the dead instance this caller now reaps under a lease, or null. */
  claimDeadNode(k: { live: string; reaping: string }, a: { leaseMs: number }): Promise<string | null> {
    return this.#run('iosClaimDeadNode', k.live, k.reaping, a.leaseMs);
  }
}
