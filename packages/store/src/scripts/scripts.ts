import type { RedisClient } from '../redis.js';
import { defineScripts } from './load.js';

type Arg = string | number;
type Command = (...args: Arg[]) => Promise<unknown>;

/** The session keys a script needs, in the order of its header. */
export interface SessionScriptKeys {
  session: string;
  inbox: string;
  graceMarker: string;
  due: string;
  all: string;
  outbox: string;
  stats: string;
}

/** connect.lua: `code`, as its header says. */
export interface ConnectReply {
  code: 0 | 1 | 2 | 3;
  sid: string;
  endedSid: string;
  endedSocketId: string;
  data: string;
  startedEntry: string;
  endedEntry: string;
  /** Pending messages, oldest first: id, data (JSON text), push time. */
  pending: { id: string; data: string; ts: number }[];
}

/** One acknowledgement's outcome, as ack.lua / ack-many.lua return it. */
export interface AckReply {
  code: number;
  deliveredAt: number;
  entry: string;
  data: string;
  pushedAt: number;
}

/** One stored message's outcome, as push.lua / push-many.lua return it. */
export interface PushReply {
  code: number;
  ts: number;
  connections: number;
}

/** One session ended by expire-sessions.lua. */
export interface ExpiredReply {
  token: string;
  sid: string;
  lastSocketId: string;
  entry: string;
  deadline: number;
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
    k: SessionScriptKeys,
    a: {
      token: string;
      socketId: string;
      value: string;
      sid: string;
      messagePrefix: string;
      retentionMs: number;
    },
  ): Promise<ConnectReply> {
    const reply = await this.#run<Arg[]>(
      'iosConnect',
      ...sessionKeys(k),
      a.token,
      a.socketId,
      a.value,
      a.sid,
      a.messagePrefix,
      a.retentionMs,
    );
    const [code, sid, endedSid, endedSocketId, data, startedEntry, endedEntry, count] = reply;
    const pending: ConnectReply['pending'] = [];
    for (let i = 0; i < Number(count); i++) {
      const at = 8 + i * 3;
      pending.push({ id: String(reply[at]), data: String(reply[at + 1]), ts: Number(reply[at + 2]) });
    }
    return {
      code: Number(code) as ConnectReply['code'],
      sid: String(sid),
      endedSid: String(endedSid),
      endedSocketId: String(endedSocketId),
      data: String(data),
      startedEntry: String(startedEntry),
      endedEntry: String(endedEntry),
      pending,
    };
  }

  /** @returns 1 grace started, 0 other connections remain, -1 unknown connection. */
  disconnect(
    k: { session: string; graceMarker: string; due: string },
    a: { token: string; socketId: string; graceMs: number },
  ): Promise<number> {
    return this.#run('iosDisconnect', k.session, k.graceMarker, k.due, a.token, a.socketId, a.graceMs);
  }

  /** @returns how many connections of the instance were removed. */
  reapConnections(
    k: { session: string; graceMarker: string; due: string },
    a: { token: string; instance: string; graceMs: number },
  ): Promise<number> {
    return this.#run('iosReapConnections', k.session, k.graceMarker, k.due, a.token, a.instance, a.graceMs);
  }

  async expireSessions(
    k: { due: string; all: string; outbox: string; stats: string },
    a: { tag: string; limit: number; retentionMs: number },
  ): Promise<ExpiredReply[]> {
    const flat = await this.#run<Arg[]>(
      'iosExpireSessions',
      k.due,
      k.all,
      k.outbox,
      k.stats,
      a.tag,
      a.limit,
      a.retentionMs,
    );
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

  /** @returns the ended lifetime, or null when there was no session. */
  async logout(
    k: SessionScriptKeys,
    a: { token: string; messagePrefix: string; retentionMs: number },
  ): Promise<{ sid: string; lastSocketId: string; entry: string } | null> {
    const reply = await this.#run<Arg[]>(
      'iosLogout',
      ...sessionKeys(k),
      a.token,
      a.messagePrefix,
      a.retentionMs,
    );
    if (Number(reply[0]) !== 1) return null;
    return {
      sid: String(reply[1] ?? ''),
      lastSocketId: String(reply[2] ?? ''),
      entry: String(reply[3] ?? ''),
    };
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

  /** push.lua, optionally followed by `WAIT` in the same pipeline (it runs on the node that ran the script). */
  async push(
    k: { session: string; inbox: string; message: string; stats: string },
    a: { token: string; id: string; data: string; ttlMs: number; retentionMs: number; messagePrefix: string },
    wait?: { replicas: number; timeoutMs: number },
  ): Promise<PushReply> {
    const args: Arg[] = [
      k.session,
      k.inbox,
      k.message,
      k.stats,
      a.token,
      a.id,
      a.data,
      a.ttlMs,
      a.retentionMs,
    ];
    args.push(a.messagePrefix);
    let reply: number[];
    if (wait) {
      const pipeline = this.redis.pipeline() as unknown as {
        iosPush(...a: Arg[]): unknown;
        wait(n: number, ms: number): unknown;
        exec(): Promise<[Error | null, unknown][] | null>;
      };
      pipeline.iosPush(...args);
      pipeline.wait(wait.replicas, wait.timeoutMs);
      const [err, value] = (await pipeline.exec())?.[0] ?? [new Error('no reply'), null];
      if (err) throw err;
      reply = value as number[];
    } else {
      reply = await this.#run<number[]>('iosPush', ...args);
    }
    return { code: Number(reply[0]), ts: Number(reply[1] ?? 0), connections: Number(reply[2] ?? 0) };
  }

  /** push-many.lua: messages of one bucket. Replies in the order given. */
  async pushMany(
    k: { stats: string },
    a: {
      tag: string;
      retentionMs: number;
      messages: { token: string; id: string; data: string; ttlMs: number }[];
    },
  ): Promise<PushReply[]> {
    const args: Arg[] = [k.stats, a.tag, a.retentionMs];
    for (const m of a.messages) args.push(m.token, m.id, m.data, m.ttlMs);
    const flat = await this.#run<number[]>('iosPushMany', ...args);
    return a.messages.map((_m, n) => ({
      code: Number(flat[n * 3]),
      ts: Number(flat[n * 3 + 1]),
      connections: Number(flat[n * 3 + 2]),
    }));
  }

  async ack(
    k: { message: string; inbox: string; outbox: string; stats: string },
    a: { id: string; token: string; nodeId: string; socketId: string; retentionMs: number },
  ): Promise<AckReply> {
    const reply = await this.#run<Arg[]>(
      'iosAck',
      k.message,
      k.inbox,
      k.outbox,
      k.stats,
      a.id,
      a.token,
      a.nodeId,
      a.socketId,
      a.retentionMs,
    );
    return ackReply(reply, 0);
  }

  /** ack-many.lua: acknowledgements of one bucket. Replies in the order given. */
  async ackMany(
    k: { outbox: string; stats: string },
    a: {
      tag: string;
      retentionMs: number;
      acks: { id: string; token: string; nodeId: string; socketId: string }[];
    },
  ): Promise<AckReply[]> {
    const args: Arg[] = [k.outbox, k.stats, a.tag, a.retentionMs];
    for (const x of a.acks) args.push(x.id, x.token, x.nodeId, x.socketId);
    const flat = await this.#run<Arg[]>('iosAckMany', ...args);
    return a.acks.map((_x, n) => ackReply(flat, n * 5));
  }

  /** @returns the settled message, or null when no pending message has that data. */
  async ackByData(
    k: { inbox: string; outbox: string; stats: string },
    a: {
      data: string;
      nodeId: string;
      socketId: string;
      retentionMs: number;
      messagePrefix: string;
      scan: number;
    },
  ): Promise<{ id: string; deliveredAt: number; entry: string; pushedAt: number } | null> {
    const reply = await this.#run<Arg[]>(
      'iosAckByData',
      k.inbox,
      k.outbox,
      k.stats,
      a.data,
      a.nodeId,
      a.socketId,
      a.retentionMs,
      a.messagePrefix,
      a.scan,
    );
    if (Number(reply[0]) !== 1) return null;
    return {
      id: String(reply[1] ?? ''),
      deliveredAt: Number(reply[2]),
      entry: String(reply[3] ?? ''),
      pushedAt: Number(reply[4]),
    };
  }
}

function sessionKeys(k: SessionScriptKeys): string[] {
  return [k.session, k.inbox, k.graceMarker, k.due, k.all, k.outbox, k.stats];
}

function ackReply(flat: Arg[], at: number): AckReply {
  return {
    code: Number(flat[at]),
    deliveredAt: Number(flat[at + 1] ?? 0),
    entry: String(flat[at + 2] ?? ''),
    data: String(flat[at + 3] ?? ''),
    pushedAt: Number(flat[at + 4] ?? 0),
  };
}
