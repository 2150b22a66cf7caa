import type { PushJob } from '@io-session/worker';
import { describe, expect, it } from 'vitest';
import {
  DeliveryClient,
  mapLimit,
  messageStatus,
  notOnce,
  pushQueue,
  pushViaApi,
  receiptFence,
  receiptJobsPerId,
  startReceiptSink,
  type MessageStatusBody,
  type PushAccepted,
} from '../helpers/delivery.js';
import { startNodes, type NodeProcess } from '../helpers/node-process.js';
import { uniquePrefix } from '../helpers/prefix.js';
import { dropPrefixAfterwards, SHARED_REDIS_URL } from '../helpers/redis-client.js';
import { allSessionTokens } from '../helpers/sessions-api.js';
import { openStore } from '../helpers/store.js';
import { waitUntil } from '../helpers/wait.js';

const SESSIONS = 1000;
const PUSHES = 100_000;
/** Pushes made through the HTTP API (through either node); the rest go through the push queue. */
const HTTP_PUSHES = 2000;
/** Messages per `{ messages: [...] }` job. */
const BATCH = 250;
/** Every CHURN_EVERY_MS, CHURN_SHARE of the connected clients drop and come back 200–1500 ms later, anywhere. */
const CHURN_EVERY_MS = 2000;
const CHURN_SHARE = 0.03;
/** Push jobs the producer keeps waiting or active at most. */
const MAX_JOBS_AHEAD = 12;

function rate(count: number, ms: number): string {
  return `${Math.round((count / Math.max(ms, 1)) * 1000).toLocaleString('en')}/s`;
}

describe('soak', () => {
  it(
    `${PUSHES.toLocaleString('en')} pushes over ${SESSIONS} sessions with clients dropping all along: every push receipted exactly once`,
    { timeout: 180_000 },
    async () => {
      const prefix = uniquePrefix('soak');
      dropPrefixAfterwards(prefix);
      const nodes = await startNodes(2, {
        redisUrl: SHARED_REDIS_URL,
        prefix,
        env: {
          // no session may end while its client is away on purpose
          SESSION_TIMEOUT_MS: '120000',
          // Acknowledgements count against a connection's event rate limit (50/s, bursts of 100); a client
          // coming back to more pending pushes than that could not acknowledge them all (see
          // delivery-reconnect.test.ts). The soak is about receipts, so the limit is out of its way.
          RATE_LIMIT_PER_SEC: '100000',
          // every receipts job is kept, to count the receipts at the queue (100,000 receipts, up to one job each)
          QUEUE_KEEP_COMPLETED: '1000000',
        },
      });
      const [a, b] = nodes as [NodeProcess, NodeProcess];
      const sink = await startReceiptSink({ redisUrl: SHARED_REDIS_URL, prefix });
      const { store, redis } = openStore({ prefix });
      const queue = pushQueue(SHARED_REDIS_URL, prefix);
      const anyNode = (): NodeProcess => (Math.random() < 0.5 ? a : b);

      // 500 legacy clients (query token, receipts as JSON text or objects) and 500 v2 clients (ack callbacks).
      const clients = Array.from(
        { length: SESSIONS },
        (_, i) =>
          new DeliveryClient({
            token: `s${i}`,
            v2: i % 2 === 1,
            legacyReceipt: i % 4 === 0 ? 'string' : 'object',
            timeout: 20_000,
          }),
      );
      let t0 = Date.now();
      await mapLimit(clients, 100, (c, i) => c.connect(i % 4 < 2 ? a.url : b.url));
      await waitUntil(async () => (await allSessionTokens(a.url, 1000)).tokens.length === SESSIONS, {
        timeout: 30_000,
        message: `${SESSIONS} sessions registered`,
      });
      console.log(`soak: ${SESSIONS} clients connected and registered in ${Date.now() - t0} ms`);

      // Churn: clients drop and come back on any node, until told to stop.
      let churning = true;
      let drops = 0;
      const failedReconnects: string[] = [];
      const returns = new Set<Promise<void>>();
      const churn = (async () => {
        while (churning) {
          await new Promise((resolve) => setTimeout(resolve, CHURN_EVERY_MS));
          if (!churning) break;
          const connected = clients.filter((c) => c.connected);
          const picks = connected
            .sort(() => Math.random() - 0.5)
            .slice(0, Math.ceil(connected.length * CHURN_SHARE));
          for (const c of picks) {
            drops += 1;
            const back = (async () => {
              await c.disconnect();
              await new Promise((resolve) => setTimeout(resolve, 200 + Math.random() * 1300));
              for (let attempt = 1; ; attempt++) {
                try {
                  await c.connect(anyNode().url);
                  return;
                } catch (err) {
                  failedReconnects.push(`${c.token}: ${(err as Error).message}`);
                  if (attempt >= 5) return;
                }
              }
            })();
            returns.add(back);
            void back.finally(() => returns.delete(back));
          }
        }
      })();

      // The pushes: message k goes to session k mod SESSIONS, data { k } (unique: legacy receipts name data).
      const tokenOf = (k: number): string => `s${k % SESSIONS}`;
      const queueCount = PUSHES - HTTP_PUSHES;
      const jobs: { name: string; data: PushJob }[] = [];
      for (let start = 0; start < queueCount; start += BATCH) {
        const messages = [];
        for (let k = start; k < Math.min(start + BATCH, queueCount); k++)
          messages.push({ token: tokenOf(k), data: { k }, id: `q-${k}` });
        jobs.push({ name: 'soak', data: { messages } });
      }
      /** Every accepted push: message id → k. */
      const idData = new Map<string, number>(Array.from({ length: queueCount }, (_, k) => [`q-${k}`, k]));

      t0 = Date.now();
      // The producer keeps a few jobs ahead of the nodes (each node runs up to 32 jobs at once).
      const enqueue = (async () => {
        for (let next = 0; next < jobs.length;) {
          const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
          const ahead = Object.values(counts).reduce((x, y) => x + y, 0);
          if (ahead >= MAX_JOBS_AHEAD) {
            await new Promise((resolve) => setTimeout(resolve, 20));
            continue;
          }
          const add = jobs.slice(next, next + (MAX_JOBS_AHEAD - ahead));
          next += add.length;
          await queue.addBulk(add);
        }
      })();
      const viaHttp = mapLimit(
        Array.from({ length: HTTP_PUSHES }, (_, i) => queueCount + i),
        8,
        async (k) => {
          const res = await pushViaApi(anyNode().url, { token: tokenOf(k), data: { k } });
          if (res.status !== 202)
            throw new Error(`HTTP push ${k}: ${res.status} ${JSON.stringify(res.body)}`);
          const id = (res.body as PushAccepted).id;
          idData.set(id, k);
        },
      );
      const queued = (async () => {
        await enqueue;
        await waitUntil(
          async () => {
            const counts = await queue.getJobCounts('completed', 'failed');
            if ((counts.failed ?? 0) > 0) throw new Error(`${counts.failed} push job(s) failed`);
            return counts.completed === jobs.length;
          },
          { timeout: 120_000, interval: 100, message: 'every push job stored' },
        );
        return Date.now() - t0;
      })();
      const httpMs = await viaHttp.then(() => Date.now() - t0);
      const queueMs = await queued;
      const storedMs = Math.max(httpMs, queueMs);
      const stats = await store.messages.stats();
      expect(stats.pushed).toBe(PUSHES);
      console.log(
        `soak: ${PUSHES.toLocaleString('en')} pushes stored in ${storedMs} ms (${rate(PUSHES, storedMs)}): ` +
          `${queueCount.toLocaleString('en')} in ${jobs.length} batch jobs in ${queueMs} ms ` +
          `(${rate(queueCount, queueMs)}), ${HTTP_PUSHES} over HTTP in ${httpMs} ms (${rate(HTTP_PUSHES, httpMs)})`,
      );

      // Every receipt arrives while the clients keep dropping; the last stragglers once everyone is back.
      await waitUntil(() => sink.log.distinct >= PUSHES * 0.95, {
        timeout: 120_000,
        interval: 250,
        message: '95% of the receipts',
      });
      churning = false;
      await churn;
      while (returns.size > 0) await Promise.all([...returns]);
      expect(failedReconnects.length, failedReconnects.slice(0, 5).join('\n')).toBeLessThan(5);
      for (const c of clients) expect(c.connected, c.token).toBe(true);
      await sink.log.waitForIds(idData.keys(), 60_000);
      const receiptsMs = Date.now() - t0;
      await receiptFence([a.url, b.url], sink);

      const duplicates = [...sink.log.duplicates()];
      const arrivals = clients.reduce((n, c) => n + c.received.items.length, 0);
      const rateLimited = clients.reduce(
        (n, c) => n + c.errors.filter((e) => e.code === 'rate_limited').length,
        0,
      );
      console.log(
        `soak: every receipt (${sink.mode}) in ${receiptsMs} ms (${rate(PUSHES, receiptsMs)} end to end); ` +
          `${drops} client drops; ${arrivals.toLocaleString('en')} arrivals at clients ` +
          `(${(arrivals - PUSHES).toLocaleString('en')} re-sends); duplicate receipts: ${duplicates.length}; ` +
          `receipt jobs BullMQ ran twice: ${sink.rerunJobs.length}; rate-limited client events: ${rateLimited}`,
      );
      expect(duplicates.slice(0, 20), `${duplicates.length} message id(s) receipted more than once`).toEqual(
        [],
      );
      // only the witnesses of the fence on top
      expect(sink.log.distinct).toBe(PUSHES + 2);
      // and at the source, the receipts jobs: the worker feeding the sink drops a receipt that comes twice
      const perId = await receiptJobsPerId(redis, prefix);
      const wrong = notOnce(perId, idData.keys());
      expect(wrong.slice(0, 20), `${wrong.length} message id(s) without exactly one receipt job`).toEqual([]);
      expect(perId.size, 'message ids in the receipts queue').toBe(PUSHES + 2);

      // The receipts are the right ones, and the store agrees.
      for (const seen of sink.log.items) {
        const { id, token, data } = seen.receipt;
        const k = idData.get(id);
        if (k === undefined) continue; // a fence witness
        expect({ token, data }).toEqual({ token: tokenOf(k), data: { k } });
      }
      expect(await store.messages.stats()).toEqual({
        pushed: PUSHES + 2,
        delivered: PUSHES + 2,
        expired: 0,
        pending: 0,
      });
      const sample = [...idData.keys()].filter((_, i) => i % 500 === 0);
      for (const id of sample) {
        const res = await messageStatus(anyNode().url, id);
        expect((res.body as MessageStatusBody).status, id).toBe('delivered');
      }
      // Every session got each of its messages (at least once), and nobody else's.
      clients.forEach((c, i) => {
        const keys = new Set(c.received.items.map((d) => (d.data as { k: number }).k));
        expect(keys.size, c.token).toBe(PUSHES / SESSIONS);
        for (const k of keys) expect(k % SESSIONS, c.token).toBe(i);
      });
      for (const n of nodes) expect(n.proc.exitCode, n.output()).toBeNull();
    },
  );
});
