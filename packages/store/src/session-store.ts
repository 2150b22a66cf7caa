import { randomBytes } from 'node:crypto';
import stringify from 'safe-stable-stringify';
import { storeError, type StoreErrorCode } from './errors.js';
import { Keys, type SessionKeys } from './keys.js';
import { decodeOutboxEntry } from './outbox.js';
import type { RedisClient } from './redis.js';
import { defineScripts } from './scripts.js';
import type {
  Connection,
  MessageInfo,
  OutboxItem,
  PendingMessage,
  Protocol,
  SessionRecord,
} from './types.js';

export interface SessionStoreOptions {
  /** The client every command goes through (a single Redis or a Cluster). Not closed by the store. */
  redis: RedisClient;
  /** Prefix of every key. Default `'ios'`. */
  prefix?: string;
  /**
   * Number of hash-tagged buckets sessions are spread over. Every node of a cluster must use the same
   * value (checked at start). Default 64.
   */
  buckets?: number;
  /** How long a delivered or expired message's status stays queryable. Default 600000 (10 min). */
  statusRetentionMs?: number;
  /**
   * Replicas that must have a push before it is acknowledged (Redis `WAIT`). 0 (default): acknowledged once
   * the primary has it — a failover in the next few milliseconds can lose it (replication is asynchronous).
   */
  replicaAcks?: number;
  /** Longest `WAIT` for `replicaAcks`, in ms. Default 100. */
  replicaTimeoutMs?: number;
}

export const storeDefaults = {
  prefix: 'ios',
  buckets: 64,
  statusRetentionMs: 600_000,
  replicaAcks: 0,
  replicaTimeoutMs: 100,
} as const;

export interface ConnectInput {
  token: string;
  socketId: string;
  instance: string;
  protocol: Protocol;
}

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
  /** Messages still waiting for an acknowledgement, oldest first: send them to the new connection. */
  pending: PendingMessage[];
  /** The socket had already been registered (a retried call). */
  duplicate: boolean;
}

export interface PushInput {
  token: string;
  data: unknown;
  /** Message id; generated when absent. Pushing the same id again is a no-op that returns the same message. */
  id?: string;
  ttlMs: number;
}

export type PushResult =
  | { stored: true; duplicate: boolean; id: string; ts: number; connections: number }
  | { stored: false; reason: 'no_session' | 'id_conflict' };

export interface AckInput {
  token: string;
  nodeId: string;
  socketId: string;
}

export type AckResult =
  | { settled: true; duplicate: true; id: string; deliveredAt: number }
  | {
      settled: true;
      duplicate: false;
      id: string;
      deliveredAt: number;
      pushedAt: number;
      receipt: ReceiptItem;
    }
  | { settled: false; code: StoreErrorCode };

export type EventItem = Extract<OutboxItem, { kind: 'event' }> & {
  /** For sessions ended by the sweeper: the grace deadline, to measure how late the end came. */
  deadline?: number;
};

/** Cluster-wide message counters, kept by the scripts. `pending` = pushed − delivered − expired. */
export interface MessageStats {
  pushed: number;
  delivered: number;
  expired: number;
  pending: number;
}
export type ReceiptItem = Extract<OutboxItem, { kind: 'receipt' }>;

export interface SessionPage {
  sessions: SessionRecord[];
  /** Cursor of the next page, or null after the last one. */
  next: string | null;
}

/** Session state of the whole cluster, in Redis. Every mutation is one Lua script. */
export class SessionStore {
  readonly keys: Keys;
  readonly redis: RedisClient;
  readonly statusRetentionMs: number;
  readonly replicaAcks: number;
  readonly replicaTimeoutMs: number;

  constructor(options: SessionStoreOptions) {
    this.replicaAcks = options.replicaAcks ?? storeDefaults.replicaAcks;
    this.replicaTimeoutMs = options.replicaTimeoutMs ?? storeDefaults.replicaTimeoutMs;
    this.redis = options.redis;
    this.keys = new Keys(options.prefix ?? storeDefaults.prefix, options.buckets ?? storeDefaults.buckets);
    this.statusRetentionMs = options.statusRetentionMs ?? storeDefaults.statusRetentionMs;
    defineScripts(this.redis);
  }

  /** Checks that every node of the cluster agrees on the bucket count (the first node to start sets it). */
  async verifyLayout(): Promise<void> {
    await this.redis.hsetnx(this.keys.config, 'buckets', this.keys.bucketCount);
    const stored = Number(await this.redis.hget(this.keys.config, 'buckets'));
    if (stored !== this.keys.bucketCount) {
      throw new Error(
        `this cluster (key prefix '${this.keys.prefix}') uses ${stored} buckets but this node was started with ` +
          `${this.keys.bucketCount}: start every node with the same bucket count, or use another KEY_PREFIX`,
      );
    }
  }

  static newSessionId(): string {
    return randomBytes(12).toString('base64url');
  }

  /** Message ids carry their bucket so that a status lookup finds the message in one read. */
  newMessageId(token: string): string {
    return `${this.keys.bucketOf(token).toString(36)}.${randomBytes(12).toString('base64url')}`;
  }

  async connect(input: ConnectInput): Promise<ConnectResult> {
    const k = this.keys.session(input.token);
    const sid = SessionStore.newSessionId();
    const reply = (await this.redis.iosConnect(
      ...sessionKeyList(k),
      input.token,
      input.socketId,
      `${input.instance}|${input.protocol}`,
      sid,
      k.messagePrefix,
      this.statusRetentionMs,
    )) as [number, string, string, string, string, string, string, number, ...string[]];
    const [code, currentSid, endedSid, endedSocketId, data, startedEntry, endedEntry, count] = reply;
    const pending: PendingMessage[] = [];
    for (let i = 0; i < count; i++) {
      const at = 8 + i * 3;
      pending.push({
        id: reply[at] as string,
        data: parseJson(reply[at + 1] as string),
        ts: Number(reply[at + 2]),
      });
    }
    const at = Date.now();
    const events: EventItem[] = [];
    const bucket = k.bucket;
    if (endedEntry) {
      events.push({
        kind: 'event',
        bucket,
        entryId: endedEntry,
        event: {
          type: 'session.ended',
          token: input.token,
          sid: endedSid,
          id: endedSocketId,
          status: 0,
          at,
          reason: 'grace',
        },
      });
    }
    if (startedEntry) {
      events.push({
        kind: 'event',
        bucket,
        entryId: startedEntry,
        event: {
          type: 'session.started',
          token: input.token,
          sid: currentSid,
          id: input.socketId,
          status: 1,
          at,
        },
      });
    }
    return {
      sid: currentSid,
      started: code === 1 || code === 2,
      events,
      data: parseJson(data),
      pending,
      duplicate: code === 3,
    };
  }

  /** @returns `'grace'` when this was the session's last connection, `'remaining'`, or `'unknown'`. */
  async disconnect(input: {
    token: string;
    socketId: string;
    graceMs: number;
  }): Promise<'grace' | 'remaining' | 'unknown'> {
    const k = this.keys.session(input.token);
    const code = await this.redis.iosDisconnect(
      k.session,
      k.graceMarker,
      k.due,
      input.token,
      input.socketId,
      input.graceMs,
    );
    return code === 1 ? 'grace' : code === 0 ? 'remaining' : 'unknown';
  }

  /** Removes every connection a dead node instance held in one session. @returns how many. */
  async reapConnections(input: { token: string; instance: string; graceMs: number }): Promise<number> {
    const k = this.keys.session(input.token);
    return this.redis.iosReapConnections(
      k.session,
      k.graceMarker,
      k.due,
      input.token,
      input.instance,
      input.graceMs,
    );
  }

  /** Ends the due sessions of one bucket. Returns the `session.ended` events of the sessions this call ended. */
  async expireDue(bucket: number, limit = 200): Promise<EventItem[]> {
    const b = this.keys.bucket(bucket);
    const flat = await this.redis.iosExpireSessions(
      b.due,
      b.all,
      b.outbox,
      b.stats,
      b.tag,
      limit,
      this.statusRetentionMs,
    );
    const at = Date.now();
    const ended: EventItem[] = [];
    for (let i = 0; i + 4 < flat.length; i += 5) {
      ended.push({
        kind: 'event',
        bucket,
        entryId: flat[i + 3] as string,
        deadline: Number(flat[i + 4]),
        event: {
          type: 'session.ended',
          token: flat[i] as string,
          sid: flat[i + 1] as string,
          id: flat[i + 2] as string,
          status: 0,
          at,
          reason: 'grace',
        },
      });
    }
    return ended;
  }

  /** Stores data on a live session. @returns false when there is no such session. */
  async setData(token: string, data: unknown): Promise<boolean> {
    return (
      (await this.redis.iosSetData(this.keys.session(token).session, JSON.stringify(data ?? null))) === 1
    );
  }

  /** Ends a session now. @returns its `session.ended` event, or null when there was no session. */
  async logout(token: string): Promise<EventItem | null> {
    const k = this.keys.session(token);
    const reply = (await this.redis.iosLogout(
      ...sessionKeyList(k),
      token,
      k.messagePrefix,
      this.statusRetentionMs,
    )) as [number, string?, string?, string?];
    if (reply[0] !== 1) return null;
    return {
      kind: 'event',
      bucket: k.bucket,
      entryId: reply[3] ?? '',
      event: {
        type: 'session.ended',
        token,
        sid: reply[1] ?? '',
        id: reply[2] ?? '',
        status: 0,
        at: Date.now(),
        reason: 'logout',
      },
    };
  }

  async getSession(token: string): Promise<SessionRecord | null> {
    return parseSession(token, await this.redis.hgetall(this.keys.session(token).session));
  }

  async getSessions(options: { cursor?: string | null; limit?: number } = {}): Promise<SessionPage> {
    const limit = Math.max(1, Math.min(options.limit ?? 100, 1000));
    let [bucket, after] = decodeCursor(options.cursor, this.keys.bucketCount);
    const tokens: string[] = [];
    while (bucket < this.keys.bucketCount && tokens.length < limit) {
      const want = limit - tokens.length;
      const page = await this.redis.zrangebylex(
        this.keys.bucket(bucket).all,
        after === '' ? '-' : `(${after}`,
        '+',
        'LIMIT',
        0,
        want,
      );
      tokens.push(...page);
      if (page.length < want) {
        bucket += 1;
        after = '';
      } else {
        after = page[page.length - 1] ?? '';
      }
    }
    const records = await Promise.all(tokens.map((token) => this.getSession(token)));
    const done = bucket >= this.keys.bucketCount;
    return {
      sessions: records.filter((r): r is SessionRecord => r !== null),
      next: done ? null : encodeCursor(bucket, after),
    };
  }

  async countSessions(): Promise<number> {
    const counts = await Promise.all(
      Array.from({ length: this.keys.bucketCount }, (_, b) => this.redis.zcard(this.keys.bucket(b).all)),
    );
    return counts.reduce((a, c) => a + c, 0);
  }

  async push(input: PushInput): Promise<PushResult> {
    const k = this.keys.session(input.token);
    const id = input.id ?? this.newMessageId(input.token);
    const args = [
      k.session,
      k.inbox,
      k.messagePrefix + id,
      k.stats,
      input.token,
      id,
      canonicalJson(input.data),
      input.ttlMs,
      this.statusRetentionMs,
      k.messagePrefix,
    ];
    let reply: number[];
    if (this.replicaAcks > 0) {
      // WAIT goes to the node that ran the script (a pipeline stays on one node, also on a Cluster): the push
      // is acknowledged only once replicas have it, so a failover right after cannot lose it.
      const results = await this.redis
        .pipeline()
        .iosPush(...args)
        .wait(this.replicaAcks, this.replicaTimeoutMs)
        .exec();
      const [err, value] = results?.[0] ?? [new Error('no reply'), null];
      if (err) throw err;
      reply = value as number[];
    } else {
      reply = await this.redis.iosPush(...args);
    }
    const [code, ts, connections] = reply as [number, number?, number?];
    if (code === 0) return { stored: false, reason: 'no_session' };
    if (code < 0) return { stored: false, reason: 'id_conflict' };
    return { stored: true, duplicate: code === 2, id, ts: ts ?? Date.now(), connections: connections ?? 0 };
  }

  /**
   * Stores many messages: one script call per bucket (what a batch job costs), each message exactly as
   * `push` stores it. Results in the order of `inputs`.
   */
  async pushMany(inputs: PushInput[]): Promise<PushResult[]> {
    if (this.replicaAcks > 0) return Promise.all(inputs.map((input) => this.push(input)));
    const groups = new Map<number, number[]>();
    const ids = inputs.map((input) => input.id ?? this.newMessageId(input.token));
    inputs.forEach((input, i) => {
      const b = this.keys.bucketOf(input.token);
      const group = groups.get(b) ?? [];
      group.push(i);
      groups.set(b, group);
    });
    const results: PushResult[] = new Array<PushResult>(inputs.length);
    await Promise.all(
      [...groups].map(async ([bucket, members]) => {
        const b = this.keys.bucket(bucket);
        const args: (string | number)[] = [b.stats, b.tag, this.statusRetentionMs];
        for (const i of members) {
          const input = inputs[i] as PushInput;
          args.push(input.token, ids[i] as string, canonicalJson(input.data), input.ttlMs);
        }
        const flat = await this.redis.iosPushMany(...args);
        members.forEach((i, n) => {
          const code = Number(flat[n * 3]);
          results[i] =
            code === 0
              ? { stored: false, reason: 'no_session' }
              : code < 0
                ? { stored: false, reason: 'id_conflict' }
                : {
                    stored: true,
                    duplicate: code === 2,
                    id: ids[i] as string,
                    ts: Number(flat[n * 3 + 1]),
                    connections: Number(flat[n * 3 + 2]),
                  };
        });
      }),
    );
    return results;
  }

  /**
   * Settles a message acknowledged by id. Acknowledgements made in the same event-loop turn are settled
   * together, one script call per bucket (`ack-many.lua`); each exactly as `ack.lua` would.
   */
  ack(id: string, input: AckInput): Promise<AckResult> {
    return new Promise((resolve, reject) => {
      this.#acks.push({ id, input, resolve, reject });
      if (this.#acks.length === 1) setImmediate(() => this.#flushAcks());
    });
  }

  #acks: { id: string; input: AckInput; resolve: (r: AckResult) => void; reject: (e: unknown) => void }[] =
    [];

  #flushAcks(): void {
    const batch = this.#acks;
    this.#acks = [];
    const groups = new Map<number, typeof batch>();
    for (const ack of batch) {
      const b = this.keys.bucketOf(ack.input.token);
      const group = groups.get(b) ?? [];
      group.push(ack);
      groups.set(b, group);
    }
    for (const [bucket, group] of groups) {
      const b = this.keys.bucket(bucket);
      const call =
        group.length === 1
          ? this.redis.iosAck(
              b.messagePrefix + group[0]!.id,
              `${b.tag}:q:${group[0]!.input.token}`,
              b.outbox,
              b.stats,
              group[0]!.id,
              group[0]!.input.token,
              group[0]!.input.nodeId,
              group[0]!.input.socketId,
              this.statusRetentionMs,
            )
          : this.redis.iosAckMany(
              b.outbox,
              b.stats,
              b.tag,
              this.statusRetentionMs,
              ...group.flatMap((a) => [a.id, a.input.token, a.input.nodeId, a.input.socketId]),
            );
      call.then(
        (flat) =>
          group.forEach((a, n) =>
            a.resolve(this.#ackResult(bucket, a.id, a.input, flat.slice(n * 5, n * 5 + 5))),
          ),
        (err: unknown) => group.forEach((a) => a.reject(err)),
      );
    }
  }

  #ackResult(bucket: number, id: string, input: AckInput, reply: unknown[]): AckResult {
    const [code, at, entryId, data, ts] = reply as [number, number, string, string, number];
    if (code < 0) return { settled: false, code: code as StoreErrorCode };
    const deliveredAt = Number(at);
    if (code === 0) return { settled: true, duplicate: true, id, deliveredAt };
    const receipt: ReceiptItem = {
      kind: 'receipt',
      bucket,
      entryId,
      receipt: {
        id,
        token: input.token,
        data: parseJson(data),
        deliveredAt,
        nodeId: input.nodeId,
        socketId: input.socketId,
      },
    };
    return { settled: true, duplicate: false, id, deliveredAt, pushedAt: Number(ts), receipt };
  }

  /** The seed's receipt: settles the oldest pending message of the session whose data equals `data`. */
  async ackByData(data: unknown, input: AckInput): Promise<AckResult> {
    const k = this.keys.session(input.token);
    const reply = (await this.redis.iosAckByData(
      k.inbox,
      k.outbox,
      k.stats,
      canonicalJson(data),
      input.nodeId,
      input.socketId,
      this.statusRetentionMs,
      k.messagePrefix,
      1000,
    )) as [number, string?, number?, string?, string?];
    if (reply[0] !== 1) return { settled: false, code: reply[0] as StoreErrorCode };
    const id = reply[1] ?? '';
    const deliveredAt = Number(reply[2]);
    const receipt: ReceiptItem = {
      kind: 'receipt',
      bucket: k.bucket,
      entryId: reply[3] ?? '',
      receipt: { id, token: input.token, data, deliveredAt, nodeId: input.nodeId, socketId: input.socketId },
    };
    return { settled: true, duplicate: false, id, deliveredAt, pushedAt: Number(reply[4]), receipt };
  }

  /** Sums the counters of every bucket. */
  async messageStats(): Promise<MessageStats> {
    const all = await Promise.all(
      Array.from({ length: this.keys.bucketCount }, (_, b) =>
        this.redis.hmget(this.keys.bucket(b).stats, 'pushed', 'delivered', 'expired'),
      ),
    );
    const sum = { pushed: 0, delivered: 0, expired: 0 };
    for (const [p, d, e] of all) {
      sum.pushed += Number(p ?? 0);
      sum.delivered += Number(d ?? 0);
      sum.expired += Number(e ?? 0);
    }
    return { ...sum, pending: Math.max(0, sum.pushed - sum.delivered - sum.expired) };
  }

  async messageStatus(id: string): Promise<MessageInfo | null> {
    const home = Number.parseInt(id.slice(0, id.indexOf('.')), 36);
    const order = Number.isInteger(home) && home >= 0 && home < this.keys.bucketCount ? [home] : [];
    for (const b of order) {
      const info = await this.#readMessage(b, id);
      if (info) return info;
    }
    // Ids chosen by the pusher carry no bucket: look in every bucket at once.
    const all = await Promise.all(
      Array.from({ length: this.keys.bucketCount }, (_, b) => (b === home ? null : this.#readMessage(b, id))),
    );
    return all.find((info) => info) ?? null;
  }

  async #readMessage(bucket: number, id: string): Promise<MessageInfo | null> {
    const [token, st, exp, at] = await this.redis.hmget(
      this.keys.message(bucket, id),
      't',
      'st',
      'exp',
      'at',
    );
    if (!token) return null;
    if (st === 'd') return { id, token, status: 'delivered', deliveredAt: Number(at) };
    if (st === 'p' && Number(exp) > Date.now()) return { id, token, status: 'pending' };
    return { id, token, status: 'expired' };
  }

  /** Outbox entries of a bucket older than `olderThanMs` (left behind by a node that died before relaying). */
  async readStaleOutbox(bucket: number, olderThanMs: number, count = 500): Promise<OutboxItem[]> {
    const entries = await this.redis.xrange(
      this.keys.bucket(bucket).outbox,
      '-',
      String(Date.now() - olderThanMs),
      'COUNT',
      count,
    );
    return entries.map(([entryId, fields]) => decodeOutboxEntry(bucket, entryId, fields[1] ?? 'null'));
  }

  /** Deletes relayed outbox entries. */
  async deleteOutbox(bucket: number, entryIds: string[]): Promise<void> {
    if (entryIds.length > 0) await this.redis.xdel(this.keys.bucket(bucket).outbox, ...entryIds);
  }
}

function sessionKeyList(k: SessionKeys): [string, string, string, string, string, string, string] {
  return [k.session, k.inbox, k.graceMarker, k.due, k.all, k.outbox, k.stats];
}

/** JSON with sorted keys: equal data gives equal text, whoever serialised it. */
export function canonicalJson(data: unknown): string {
  return stringify(data ?? null) ?? 'null';
}

function parseJson(text: string | undefined): unknown {
  if (text === undefined || text === '') return null;
  return JSON.parse(text) as unknown;
}

function parseSession(token: string, h: Record<string, string>): SessionRecord | null {
  if (h.sid === undefined) return null;
  const connections: Connection[] = [];
  for (const [field, value] of Object.entries(h)) {
    if (!field.startsWith('c:')) continue;
    const bar = value.lastIndexOf('|');
    const instance = value.slice(0, bar);
    connections.push({
      id: field.slice(2),
      instance,
      nodeId: nodeIdOf(instance),
      protocol: value.slice(bar + 1) === '2' ? 2 : 1,
    });
  }
  const record: SessionRecord = {
    token,
    sid: h.sid,
    createdAt: Number(h.t0),
    connections,
    data: parseJson(h.d),
    status: connections.length > 0 ? 'connected' : 'grace',
  };
  if (connections.length === 0 && h.g) record.graceUntil = Number(h.g);
  return record;
}

/** A node instance is `<NODE_ID>~<per-start suffix>`. */
export function nodeIdOf(instance: string): string {
  const tilde = instance.lastIndexOf('~');
  return tilde < 0 ? instance : instance.slice(0, tilde);
}

function encodeCursor(bucket: number, after: string): string {
  return Buffer.from(JSON.stringify([bucket, after])).toString('base64url');
}

function decodeCursor(cursor: string | null | undefined, buckets: number): [number, string] {
  if (!cursor) return [0, ''];
  try {
    const [bucket, after] = JSON.parse(Buffer.from(cursor, 'base64url').toString()) as [unknown, unknown];
    if (
      Number.isInteger(bucket) &&
      (bucket as number) >= 0 &&
      (bucket as number) < buckets &&
      typeof after === 'string'
    )
      return [bucket as number, after];
  } catch {
    // fall through
  }
  throw new RangeError('invalid cursor');
}

export { storeError };
