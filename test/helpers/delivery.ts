/**
 * Helpers of the delivery tests (issue 3): clients that record and acknowledge pushes, the ways to push
 * (HTTP API, the BullMQ `push` queue), and the places receipts show up (the `receipts` queue, the webhook
 * of the `io-session worker` command).
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import { freePort } from '@io-session/devtools';
import { HASHTABLE_FIELD, type Receipt, type SessionEvent } from '@io-session/store';
import { queuePrefixes, queueShardsOf, type PushJob } from '@io-session/worker';
import { Queue, Worker } from 'bullmq';
import type { Cluster, Redis } from 'ioredis';
import { io, type Socket } from 'socket.io-client';
import { trackChild } from './child.js';
import { deferCleanup } from './cleanup.js';
import { api, Recorder, type ApiResponse } from './clients.js';
import { spawnCli, TEST_API_KEY } from './node-process.js';
import { sessionWhere } from './sessions-api.js';
import { outboxDrained } from './outbox.js';
import { connectRedis, primariesOf } from './redis-client.js';
import { withTimeout } from './wait.js';

// ---------------------------------------------------------------------------------------------------------
// Clients

/** One `push_message` a client received. */
export interface Delivered {
  /** The message id (v2 clients only; legacy clients get the bare data). */
  id: string | undefined;
  data: unknown;
  ts: number | undefined;
  /** Which connection of this client got it (0 = the first `connect`). */
  conn: number;
  /** The node URL that connection was made to. */
  url: string;
  /** Acknowledges it the way its protocol does (v2: the callback; legacy: the seed's receipt event). */
  ack: () => void;
}

export interface SessionErrorEvent {
  code: string;
  message: string;
}

export interface DeliveryClientOptions {
  token: string;
  /** Protocol 2 (`auth: { token, v: 2 }`) or legacy (`query: { token }`, the seed's way). */
  v2: boolean;
  /** Acknowledge every push as it arrives. Default true. */
  autoAck?: boolean;
  /** How a legacy client sends its receipt: the seed's JSON string, or an object. Default 'string'. */
  legacyReceipt?: 'string' | 'object';
  /** How long `connect` waits. Default 10000 ms. */
  timeout?: number;
}

/**
 * A client of one session token that can disconnect and come back on any node. Listeners are attached
 * before the handshake, so the pending messages a node sends right after `connect` are never missed.
 */
export class DeliveryClient {
  readonly token: string;
  readonly v2: boolean;
  autoAck: boolean;
  readonly received = new Recorder<Delivered>();
  readonly errors = new Recorder<SessionErrorEvent>();
  readonly logouts = new Recorder<number>();
  #socket: Socket | undefined;
  #connections = 0;
  readonly #options: DeliveryClientOptions;

  constructor(options: DeliveryClientOptions) {
    this.#options = options;
    this.token = options.token;
    this.v2 = options.v2;
    this.autoAck = options.autoAck ?? true;
  }

  get socket(): Socket | undefined {
    return this.#socket;
  }

  get connected(): boolean {
    return this.#socket?.connected ?? false;
  }

  /** Number of connections made so far. */
  get connections(): number {
    return this.#connections;
  }

  /** Opens a new connection to `url` (the previous one must be closed); resolves on `connect`. */
  async connect(url: string): Promise<Socket> {
    if (this.#socket?.connected) throw new Error(`${this.token} is still connected`);
    const conn = this.#connections++;
    const credentials = this.v2 ? { token: this.token, v: 2 } : { token: this.token };
    const socket = io(url, {
      forceNew: true,
      autoConnect: false,
      transports: ['websocket'],
      reconnection: false,
      timeout: this.#options.timeout ?? 10_000,
      ...(this.v2 ? { auth: credentials } : { query: credentials }),
    });
    this.#socket = socket;
    deferCleanup(() => {
      socket.disconnect();
    });
    socket.on('push_message', (payload: unknown, callback?: unknown) => {
      const item = this.#delivered(socket, payload, callback, { conn, url });
      this.received.push(item);
      if (this.autoAck) item.ack();
    });
    socket.on('session_error', (error: SessionErrorEvent) => this.errors.push(error));
    socket.on('logout', () => this.logouts.push(conn));
    const connected = new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', (err: Error) => reject(err));
    });
    socket.connect();
    try {
      await withTimeout(connected, this.#options.timeout ?? 10_000, `${this.token} connecting to ${url}`);
    } catch (err) {
      socket.disconnect();
      throw err;
    }
    return socket;
  }

  /** Closes the current connection from the client side and waits until it is closed. */
  async disconnect(): Promise<void> {
    const socket = this.#socket;
    if (!socket?.connected) return;
    const gone = new Promise<void>((resolve) => socket.once('disconnect', () => resolve()));
    socket.disconnect();
    await gone;
  }

  /** Resolves once the current connection is closed by the other side (a node that died). */
  closedByPeer(timeout = 15_000): Promise<string> {
    const socket = this.#socket;
    if (!socket) return Promise.reject(new Error('never connected'));
    if (!socket.connected) return Promise.resolve('already closed');
    return withTimeout(
      new Promise<string>((resolve) => socket.once('disconnect', (reason: string) => resolve(reason))),
      timeout,
      `${this.token}: its connection to close`,
    );
  }

  /** Emits a raw `push_message_delivery` (for receipts by id, or bad ones). */
  emitDelivery(payload: unknown): void {
    if (!this.#socket) throw new Error('never connected');
    this.#socket.emit('push_message_delivery', payload);
  }

  /** Every data received, in arrival order (optionally only on connection `conn`). */
  datas(conn?: number): unknown[] {
    return this.received.items.filter((d) => conn === undefined || d.conn === conn).map((d) => d.data);
  }

  /** Every id received (v2), in arrival order (optionally only on connection `conn`). */
  ids(conn?: number): (string | undefined)[] {
    return this.received.items.filter((d) => conn === undefined || d.conn === conn).map((d) => d.id);
  }

  /** Waits until connection `conn` has received `count` pushes; resolves with them in order. */
  async waitForCount(count: number, options: { conn?: number; timeout?: number } = {}): Promise<Delivered[]> {
    const test = (d: Delivered): boolean => options.conn === undefined || d.conn === options.conn;
    return this.received.waitForCount(test, count, options.timeout ?? 10_000);
  }

  #delivered(
    socket: Socket,
    payload: unknown,
    callback: unknown,
    where: { conn: number; url: string },
  ): Delivered {
    if (!this.v2) {
      const data = payload;
      const receipt = { token: this.token, data };
      const body = (this.#options.legacyReceipt ?? 'string') === 'string' ? JSON.stringify(receipt) : receipt;
      return {
        id: undefined,
        data,
        ts: undefined,
        ...where,
        ack: () => {
          if (socket.connected) socket.emit('push_message_delivery', body);
        },
      };
    }
    const envelope = payload as { id?: unknown; data?: unknown; ts?: unknown };
    let acked = false;
    return {
      id: typeof envelope.id === 'string' ? envelope.id : undefined,
      data: envelope.data,
      ts: typeof envelope.ts === 'number' ? envelope.ts : undefined,
      ...where,
      ack: () => {
        if (acked || typeof callback !== 'function') return;
        acked = true;
        (callback as () => void)();
      },
    };
  }
}

// ---------------------------------------------------------------------------------------------------------
// Pushing

export interface PushAccepted {
  id: string;
  accepted: true;
  duplicate?: boolean;
}

export interface PushRefused {
  accepted?: false;
  error?: { code: string; message: string };
}

export interface ApiErrorBody {
  error: { code: string; message: string };
}

/** `POST /v1/push` with the test API key. */
export function pushViaApi(
  url: string,
  message: { token: string; data: unknown; id?: string; ttlMs?: number },
): Promise<ApiResponse<PushAccepted | PushRefused>> {
  return api<PushAccepted | PushRefused>(url, '/v1/push', {
    method: 'POST',
    body: message,
    apiKey: TEST_API_KEY,
  });
}

/** `POST /v1/push` that must be accepted; returns the message id. */
export async function pushAccepted(
  url: string,
  message: { token: string; data: unknown; id?: string; ttlMs?: number },
): Promise<string> {
  const res = await pushViaApi(url, message);
  const body = res.body as PushAccepted;
  if (res.status !== 202 || body.accepted !== true || typeof body.id !== 'string')
    throw new Error(`POST /v1/push for ${message.token} answered ${res.status} ${JSON.stringify(res.body)}`);
  return body.id;
}

export interface MessageStatusBody {
  id: string;
  token: string;
  status: 'pending' | 'delivered' | 'expired';
  deliveredAt?: number;
}

/** `GET /v1/messages/:id` with the test API key. */
export function messageStatus(
  url: string,
  id: string,
): Promise<ApiResponse<MessageStatusBody | ApiErrorBody>> {
  return api<MessageStatusBody | ApiErrorBody>(url, `/v1/messages/${encodeURIComponent(id)}`, {
    apiKey: TEST_API_KEY,
  });
}

/**
 * A BullMQ producer of the `push` queue of a key prefix (plain BullMQ, as apps may use). Closed after the file.
 * On an ioredis `Cluster` when `redisUrl` is the shared URL and `TEST_REDIS=cluster`.
 */
export function pushQueue(redisUrl: string, prefix: string): Queue<PushJob> {
  return bullQueue<PushJob>('push', redisUrl, prefix);
}

/** A plain BullMQ `Queue` handle on queue `name` of a key prefix (`{<prefix>}:<name>`). Closed after the file. */
export function bullQueue<T>(name: string, redisUrl: string, prefix: string): Queue<T> {
  const connection = connectRedis(redisUrl, { maxRetriesPerRequest: null });
  connection.on('error', () => undefined);
  const queue = new Queue<T>(name, { connection, prefix: `{${prefix}}` });
  queue.on('error', () => undefined);
  deferCleanup(async () => {
    await queue.close();
    await connection.quit().catch(() => connection.disconnect());
  });
  return queue;
}

// ---------------------------------------------------------------------------------------------------------
// Receipts

/** One receipt as a test saw it, and where it came from (a `receipts` job id, or 'webhook'). */
export interface SeenReceipt {
  receipt: Receipt;
  source: string;
}

/**
 * Every receipt a test saw, counted by message id. `waitForIds` resolves once every given id has at least
 * one receipt; `duplicates` lists the ids seen more than once.
 */
export class ReceiptLog {
  readonly items: SeenReceipt[] = [];
  readonly #counts = new Map<string, number>();
  #waiters: { missing: Set<string>; resolve: () => void }[] = [];

  add(receipt: Receipt, source: string): void {
    this.items.push({ receipt, source });
    this.#counts.set(receipt.id, (this.#counts.get(receipt.id) ?? 0) + 1);
    for (const waiter of [...this.#waiters]) {
      waiter.missing.delete(receipt.id);
      if (waiter.missing.size === 0) {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  }

  count(id: string): number {
    return this.#counts.get(id) ?? 0;
  }

  get distinct(): number {
    return this.#counts.size;
  }

  /** Ids with more than one receipt, and how many each. */
  duplicates(): Map<string, number> {
    return new Map([...this.#counts].filter(([, n]) => n > 1));
  }

  of(id: string): SeenReceipt[] {
    return this.items.filter((r) => r.receipt.id === id);
  }

  /** Resolves once every id in `ids` has a receipt; the error names how many (and some) are missing. */
  async waitForIds(ids: Iterable<string>, timeout = 15_000): Promise<void> {
    const missing = new Set([...ids].filter((id) => !this.#counts.has(id)));
    if (missing.size === 0) return;
    let waiter: { missing: Set<string>; resolve: () => void } | undefined;
    try {
      await withTimeout(
        new Promise<void>((resolve) => {
          waiter = { missing, resolve };
          this.#waiters.push(waiter);
        }),
        timeout,
        `receipts of ${missing.size} message(s)`,
      );
    } catch (err) {
      if (waiter) this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
      const some = [...missing].slice(0, 5).join(', ');
      throw new Error(`${(err as Error).message}; ${missing.size} still missing, e.g. ${some}`, {
        cause: err,
      });
    }
  }
}

/** Where a test reads receipts from. */
export interface ReceiptSink {
  readonly log: ReceiptLog;
  /** 'webhook': the `io-session worker` command posts to a test HTTP server; 'queue': a plain BullMQ Worker. */
  readonly mode: 'webhook' | 'queue';
  /** BullMQ jobs that ran more than once (at-least-once redelivery, not a second receipt job); queue mode only. */
  readonly rerunJobs: string[];
  /** Session events the worker posted (webhook mode only). */
  readonly events: SessionEvent[];
  /** Output of the worker process (webhook mode). */
  output(): string;
}

const WORKER_COMMAND_JS = fileURLToPath(
  new URL('../../packages/worker/dist/worker-command.js', import.meta.url),
);

/**
 * Whether `io-session worker` is implemented (the built command is not the stub that says it arrives with issue 3).
 * `IOS_TEST_RECEIPTS=queue|webhook` forces one way.
 */
export function workerCommandReady(): boolean {
  const forced = process.env.IOS_TEST_RECEIPTS;
  if (forced === 'queue') return false;
  if (forced === 'webhook') return true;
  try {
    return !readFileSync(WORKER_COMMAND_JS, 'utf8').includes('arrives with issue 3');
  } catch {
    return false;
  }
}

/**
 * Collects the receipts of a key prefix: through the real worker command and a webhook when it exists,
 * else with a plain BullMQ Worker on the `receipts` queue. Stopped after the test.
 */
export async function startReceiptSink(options: { redisUrl: string; prefix: string }): Promise<ReceiptSink> {
  return workerCommandReady() ? startWebhookSink(options) : startQueueSink(options);
}

/** A BullMQ Worker on the `receipts` queue that records every receipt of every job (each job counted once). */
export async function startQueueSink(options: { redisUrl: string; prefix: string }): Promise<ReceiptSink> {
  const log = new ReceiptLog();
  const rerunJobs: string[] = [];
  const seenJobs = new Set<string>();
  const connection = connectRedis(options.redisUrl, { maxRetriesPerRequest: null });
  connection.on('error', () => undefined);
  const worker = new Worker<{ receipts: Receipt[] }>(
    'receipts',
    async (job) => {
      const jobId = job.id ?? '?';
      if (seenJobs.has(jobId)) {
        rerunJobs.push(jobId);
        return;
      }
      seenJobs.add(jobId);
      for (const receipt of job.data.receipts) log.add(receipt, jobId);
    },
    { connection, prefix: `{${options.prefix}}`, concurrency: 8 },
  );
  worker.on('error', () => undefined);
  deferCleanup(async () => {
    await worker.close(true);
    await connection.quit().catch(() => connection.disconnect());
  });
  await worker.waitUntilReady();
  return { log, mode: 'queue', rerunJobs, events: [], output: () => '' };
}

/** The `io-session worker` command posting to a test HTTP server that records what it gets. */
export async function startWebhookSink(options: { redisUrl: string; prefix: string }): Promise<ReceiptSink> {
  const log = new ReceiptLog();
  const events: SessionEvent[] = [];
  const port = await freePort();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString()) as unknown;
        if (!Array.isArray(body)) throw new Error('not an array');
        if (req.url === '/receipts') for (const r of body as Receipt[]) log.add(r, 'webhook');
        else if (req.url === '/events') events.push(...(body as SessionEvent[]));
        res.writeHead(204).end();
      } catch {
        res.writeHead(400).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  deferCleanup(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const { proc, output } = spawnCli(['worker'], {
    REDIS_URL: options.redisUrl,
    KEY_PREFIX: options.prefix,
    RECEIPT_WEBHOOK_URL: `http://127.0.0.1:${port}/receipts`,
    EVENTS_WEBHOOK_URL: `http://127.0.0.1:${port}/events`,
    LOG_LEVEL: 'warn',
  });
  trackChild(proc);
  proc.once('exit', (code, signal) => output.append(`\n[io-session worker exited: ${code ?? signal}]\n`));
  return { log, mode: 'webhook', rerunJobs: [], events, output: () => output.toString() };
}

/**
 * Every receipt held by the jobs of the `receipts` queue, read from the job hashes directly (whatever state
 * the jobs are in, so nothing needs to consume them): the contract's "one receipt job per message" counted
 * at its source. On a cluster, every primary is scanned.
 */
export async function receiptsInQueue(redis: Redis | Cluster, prefix: string): Promise<SeenReceipt[]> {
  const found: SeenReceipt[] = [];
  // Every queue shard (QUEUE_SHARDS, from the layout record the nodes wrote): receipts go to their bucket's shard.
  for (const shardPrefix of queuePrefixes(prefix, await queueShardsOf(redis, prefix))) {
    const base = `${shardPrefix}:receipts:`;
    for (const server of await primariesOf(redis)) {
      let cursor = '0';
      do {
        const [next, keys] = await server.scan(cursor, 'MATCH', `${base}*`, 'COUNT', 1000);
        cursor = next;
        const jobKeys = keys.filter((k) => !k.slice(base.length).includes(':'));
        const types = await Promise.all(jobKeys.map((k) => redis.type(k)));
        const hashes = jobKeys.filter((_, i) => types[i] === 'hash');
        const datas = await Promise.all(hashes.map((k) => redis.hget(k, 'data')));
        datas.forEach((data, i) => {
          if (!data) return;
          const job = JSON.parse(data) as { receipts?: Receipt[] };
          for (const receipt of job.receipts ?? [])
            found.push({ receipt, source: hashes[i]!.slice(base.length) });
        });
      } while (cursor !== '0');
    }
  }
  return found;
}

/**
 * How many times the `receipts` jobs carry each message id: the contract's "exactly one receipt job per
 * acknowledged message" counted at its source, not behind the worker (whose claim-before-handle dedupe drops a
 * receipt that comes twice, in front of a webhook or a handler alike). Waits first until the outboxes of the
 * prefix are empty (`outboxDrained`: every receipt a script appended has then reached the queue), then reads
 * the job hashes (test nodes keep completed jobs: QUEUE_KEEP_COMPLETED).
 */
export async function receiptJobsPerId(
  redis: Redis | Cluster,
  prefix: string,
  timeout?: number,
): Promise<Map<string, number>> {
  await outboxDrained(redis, prefix, timeout);
  const perId = new Map<string, number>();
  for (const { receipt } of await receiptsInQueue(redis, prefix))
    perId.set(receipt.id, (perId.get(receipt.id) ?? 0) + 1);
  return perId;
}

/** The ids of `ids` that `perId` does not count exactly once, with their count (0: none). */
export function notOnce(perId: Map<string, number>, ids: Iterable<string>): [string, number][] {
  return [...new Set(ids)].map((id): [string, number] => [id, perId.get(id) ?? 0]).filter(([, n]) => n !== 1);
}

/**
 * The ids of every message stored under a prefix, pending or settled: the fields of the buckets' pending-id hashes
 * (`…:pid`) and of their settled-status slots (`…:st:<slot>`), read directly in Redis (not their filler field).
 */
export async function storedMessageKeys(redis: Redis | Cluster, prefix: string): Promise<string[]> {
  const ids = new Set<string>();
  for (const server of await primariesOf(redis)) {
    for (const pattern of [`${prefix}:{${prefix}.*}:pid`, `${prefix}:{${prefix}.*}:st:*`]) {
      let cursor = '0';
      do {
        const [next, page] = await server.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        cursor = next;
        for (const key of page)
          for (const id of await server.hkeys(key)) if (id !== HASHTABLE_FIELD) ids.add(id);
      } while (cursor !== '0');
    }
  }
  return [...ids];
}

/** Runs `fn` over `items` with at most `limit` calls in flight; results in input order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const run = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, run));
  return results;
}

/**
 * Waits until every node has relayed the receipts it had to relay before now: a node relays its outbox in
 * order, so once a receipt acknowledged later on each node has reached the sink, any earlier one has too
 * (for the webhook, as far as the worker keeps the order of its jobs). A witness client per node.
 */
export async function receiptFence(urls: string[], sink: ReceiptSink): Promise<void> {
  const ids = await Promise.all(
    urls.map(async (url, i) => {
      const token = `fence-${i}-${Math.random().toString(36).slice(2)}`;
      const witness = new DeliveryClient({ token, v2: true });
      await witness.connect(url);
      await sessionWhere(url, token, (s) => s.connections.length === 1);
      const id = await pushAccepted(url, { token, data: 'fence' });
      await witness.waitForCount(1);
      await witness.disconnect();
      return id;
    }),
  );
  await sink.log.waitForIds(ids);
}
