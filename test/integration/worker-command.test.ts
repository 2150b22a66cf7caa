import type { ChildProcess } from 'node:child_process';
import type { Receipt, SessionEvent } from '@io-session/store';
import {
  QueueName,
  queuePrefix,
  safeJobId,
  verifyWebhook,
  WEBHOOK_SIGNATURE_HEADER,
  WEBHOOK_TIMESTAMP_HEADER,
  type ReceiptsJob,
  type SessionEventJob,
} from '@io-session/worker';
import { Queue, type JobsOptions } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { exitOf, isRunning, killHard, trackChild } from '../helpers/child.js';
import { deferCleanup } from '../helpers/cleanup.js';
import { runCli, spawnCli } from '../helpers/node-process.js';
import { uniquePrefix } from '../helpers/prefix.js';
import { dropPrefixAfterwards, redisClient, SHARED_REDIS_URL } from '../helpers/redis-client.js';
import { waitUntil, withTimeout } from '../helpers/wait.js';
import { deferred, startWebhook, type TestWebhook, type WebhookRequest } from '../helpers/webhook.js';

/** The options nodes add their jobs with (packages/server/src/outbox-relay.ts `relayJobOptions`). */
const nodeJobOptions: JobsOptions = {
  attempts: 1_000_000,
  backoff: { type: 'capped' },
  removeOnComplete: { age: 3600, count: 100_000 },
  removeOnFail: { age: 7 * 24 * 3600 },
};

function receipt(id: string): Receipt {
  return {
    id,
    token: `tok-${id}`,
    data: { n: id },
    deliveredAt: 1_700_000_000_000,
    nodeId: 'n1',
    socketId: 's1',
  };
}

interface Setup {
  prefix: string;
  receipts: Queue<ReceiptsJob>;
  events: Queue<SessionEventJob>;
  /** Starts `io-session worker` (node packages/server/dist/cli.js worker) posting to the webhook. */
  startWorker(extraEnv?: Record<string, string>): { proc: ChildProcess; output: () => string };
}

function setup(label: string, webhook: TestWebhook): Setup {
  const prefix = uniquePrefix(label);
  dropPrefixAfterwards(prefix);
  const connection = redisClient();
  const receipts = new Queue<ReceiptsJob>(QueueName.receipts, { connection, prefix: queuePrefix(prefix) });
  const events = new Queue<SessionEventJob>(QueueName.sessionEvents, {
    connection,
    prefix: queuePrefix(prefix),
  });
  deferCleanup(() => Promise.all([receipts.close(), events.close()]));
  return {
    prefix,
    receipts,
    events,
    startWorker: (extraEnv = {}) => {
      const { proc, output } = spawnCli(['worker'], {
        REDIS_URL: SHARED_REDIS_URL,
        KEY_PREFIX: prefix,
        RECEIPT_WEBHOOK_URL: webhook.url('/receipts'),
        EVENTS_WEBHOOK_URL: webhook.url('/events'),
        LOG_LEVEL: 'warn',
        ...extraEnv,
      });
      trackChild(proc);
      return { proc, output: () => output.toString() };
    },
  };
}

/** Resolves when the process writes a line containing `text` to stdout. */
function outputLine(proc: ChildProcess, text: string): Promise<void> {
  return withTimeout(
    new Promise<void>((resolve) => {
      let seen = '';
      const listener = (chunk: Buffer): void => {
        seen += chunk.toString();
        if (!seen.includes(text)) return;
        proc.stdout?.off('data', listener);
        resolve();
      };
      proc.stdout?.on('data', listener);
    }),
    10_000,
    `'${text}' in the worker's output`,
  );
}

const idsOf = (request: WebhookRequest): string[] => (request.body as Receipt[]).map((r) => r.id);
const onPath = (path: string) => (request: WebhookRequest) => request.path === path;

describe('io-session worker (command mode)', () => {
  it('POSTs each job’s receipts and the session events as JSON arrays', async () => {
    const webhook = await startWebhook();
    const s = setup('posts', webhook);
    s.startWorker();
    const batch = ['a1', 'a2', 'a3'].map(receipt);
    await s.receipts.add('receipts', { receipts: batch }, nodeJobOptions);
    const started: SessionEvent = {
      type: 'session.started',
      token: 't',
      sid: 'x1',
      id: 'sock1',
      status: 1,
      at: 1,
    };
    const ended: SessionEvent = { ...started, type: 'session.ended', status: 0, at: 2, reason: 'logout' };
    for (const event of [started, ended])
      await s.events.add(event.type, event, {
        ...nodeJobOptions,
        jobId: safeJobId(`${event.type}-${event.sid}`),
      });

    const posted = await webhook.requests.waitFor(onPath('/receipts'), 15_000);
    expect(posted.method).toBe('POST');
    expect(posted.headers['content-type']).toBe('application/json');
    expect(posted.body).toEqual(batch);
    expect(posted.headers[WEBHOOK_SIGNATURE_HEADER]).toBeUndefined(); // no WEBHOOK_SECRET: unsigned
    expect(posted.headers[WEBHOOK_TIMESTAMP_HEADER]).toBeUndefined();

    const eventPosts = await waitUntil(() => {
      const posts = webhook.requests.filter(onPath('/events'));
      return posts.flatMap((p) => p.body as SessionEvent[]).length >= 2 && posts;
    });
    for (const post of eventPosts) {
      expect(post.headers['content-type']).toBe('application/json');
      expect(post.headers[WEBHOOK_SIGNATURE_HEADER]).toBeUndefined();
    }
    expect(eventPosts.flatMap((p) => p.body as SessionEvent[])).toEqual(
      expect.arrayContaining([started, ended]),
    );
    expect(eventPosts.flatMap((p) => p.body as SessionEvent[])).toHaveLength(2);
  });

  it('with WEBHOOK_SECRET, signs every POST: verifyWebhook accepts each on its raw body, and each retry afresh', async () => {
    const secret = 'integration-webhook-secret-0123456789';
    // The first receipts POST fails: its retry must carry its own, later timestamp.
    const webhook = await startWebhook((req) => (req.path === '/receipts' && req.n === 1 ? 500 : 204));
    const s = setup('signed', webhook);
    s.startWorker({ WEBHOOK_SECRET: secret });
    const batch = ['s1', 's2'].map(receipt);
    await s.receipts.add('receipts', { receipts: batch }, nodeJobOptions);
    const event: SessionEvent = {
      type: 'session.started',
      token: 't',
      sid: 'sig1',
      id: 'sock',
      status: 1,
      at: 1,
    };
    await s.events.add(event.type, event, {
      ...nodeJobOptions,
      jobId: safeJobId(`${event.type}-${event.sid}`),
    });

    const tries = await webhook.requests.waitForCount(onPath('/receipts'), 2, 15_000);
    const eventPost = await webhook.requests.waitFor(onPath('/events'), 15_000);
    for (const post of [...tries, eventPost]) {
      const timestamp = Number(post.headers[WEBHOOK_TIMESTAMP_HEADER]);
      expect(Math.abs(post.at - timestamp)).toBeLessThan(5_000); // ms since the epoch, at sending time
      expect(post.headers[WEBHOOK_SIGNATURE_HEADER]).toMatch(/^v1=[0-9a-f]{64}$/);
      expect(verifyWebhook({ secret, body: post.raw, headers: post.headers })).toBe(true);
      expect(verifyWebhook({ secret, body: post.raw.toString(), headers: post.headers })).toBe(true);
      expect(verifyWebhook({ secret: `${secret}x`, body: post.raw, headers: post.headers })).toBe(false);
      expect(
        verifyWebhook({ secret, body: Buffer.concat([post.raw, Buffer.from(' ')]), headers: post.headers }),
      ).toBe(false);
    }
    expect(tries.map((t) => t.body)).toEqual([batch, batch]);
    expect(eventPost.body).toEqual([event]);
    expect(Number(tries[1]!.headers[WEBHOOK_TIMESTAMP_HEADER])).toBeGreaterThan(
      Number(tries[0]!.headers[WEBHOOK_TIMESTAMP_HEADER]),
    );
  });

  it('exits 2 naming WEBHOOK_SECRET when it is shorter than 32 characters, without printing it', async () => {
    const secret = 'short-but-secret-value';
    const { code, stdout, stderr } = await runCli(['worker'], { WEBHOOK_SECRET: secret });
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr.trimEnd().split('\n')).toEqual([
      `io-session: invalid configuration: WEBHOOK_SECRET must be at least 32 characters (value not shown: it is a secret)`,
    ]);
    expect(stderr).not.toContain(secret);
  });

  it('retries with the capped backoff until the endpoint answers 2xx: 500, 500, then 200', async () => {
    const webhook = await startWebhook((req) => (req.path === '/receipts' && req.n <= 2 ? 500 : 200));
    const s = setup('retry', webhook);
    s.startWorker();
    const batch = ['b1', 'b2'].map(receipt);
    const job = await s.receipts.add('receipts', { receipts: batch }, nodeJobOptions);

    const tries = await webhook.requests.waitForCount(onPath('/receipts'), 3, 20_000);
    expect(tries.map((t) => t.body)).toEqual([batch, batch, batch]);
    expect(await tries[2]!.answered).toBe(200);
    expect(tries[1]!.at - tries[0]!.at).toBeGreaterThanOrEqual(1000 - 50); // capped: 1 s, then 2 s
    expect(tries[2]!.at - tries[1]!.at).toBeGreaterThanOrEqual(2000 - 50);
    await waitUntil(async () => (await s.receipts.getJobState(job.id!)) === 'completed');
    expect(webhook.requests.filter(onPath('/receipts'))).toHaveLength(3);
  });

  it('loses no receipt when the worker is SIGKILLed mid-batch and restarted', async () => {
    const jobs = 40;
    const perJob = 25;
    const concurrency = 4;
    const answeredBeforeKill = 5;
    // Answer the first requests, then hold every one: once `concurrency` are held, each job slot of the
    // worker is inside a POST, so every job before them has finished (its seen markers are written).
    const hold = deferred<number>();
    const webhook = await startWebhook((req) => (req.n <= answeredBeforeKill ? 200 : hold.promise));
    const s = setup('sigkill', webhook);
    const all = Array.from({ length: jobs * perJob }, (_, i) => receipt(`k${i}`));
    await s.receipts.addBulk(
      Array.from({ length: jobs }, (_, j) => ({
        name: 'receipts',
        data: { receipts: all.slice(j * perJob, (j + 1) * perJob) },
        opts: nodeJobOptions,
      })),
    );
    const env = { WORKER_CONCURRENCY: String(concurrency), WORKER_LOCK_MS: '1000' };

    const first = s.startWorker(env);
    await webhook.requests.waitForCount(() => true, answeredBeforeKill + concurrency, 15_000);
    await killHard(first.proc);
    const heldIds = new Set(webhook.requests.filter((r) => r.n > answeredBeforeKill).flatMap(idsOf));
    const beforeRestart = webhook.requests.items.length;
    webhook.respond = () => 200;

    const second = s.startWorker(env);
    await waitUntil(
      async () => {
        const counts = await s.receipts.getJobCounts('completed');
        return counts.completed === jobs;
      },
      { timeout: 20_000, message: `all ${jobs} receipts jobs completed` },
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n--- worker output ---\n${second.output()}`);
    });

    const received = webhook.requests.filter(onPath('/receipts')).flatMap(idsOf);
    const counts = new Map<string, number>();
    for (const id of received) counts.set(id, (counts.get(id) ?? 0) + 1);
    const duplicates = [...counts].filter(([, n]) => n > 1).map(([id]) => id);
    console.info(
      `[worker SIGKILL] ${all.length} receipts in ${jobs} jobs; ${beforeRestart} POSTs before the kill ` +
        `(${concurrency} unanswered, ${heldIds.size} receipts); ${received.length} receipts received, ` +
        `${duplicates.length} duplicates`,
    );
    expect(all.filter((r) => !counts.has(r.id))).toEqual([]); // every receipt arrived at least once
    expect(received.filter((id) => !all.some((r) => r.id === id))).toEqual([]);
    expect(heldIds.size).toBe(concurrency * perJob);
    // Only receipts whose POST was unanswered when the worker died came twice: exactly those, once more.
    expect(new Set(duplicates)).toEqual(heldIds);
    expect(Math.max(...counts.values())).toBe(2);
  });

  it('exits 0 on SIGTERM once the POST in flight is answered', async () => {
    const hold = deferred<number>();
    const webhook = await startWebhook(() => hold.promise);
    const s = setup('sigterm', webhook);
    const job = await s.receipts.add('receipts', { receipts: [receipt('c1')] }, nodeJobOptions);
    const worker = s.startWorker({ LOG_LEVEL: 'info' });
    const request = await webhook.requests.waitFor(onPath('/receipts'), 15_000);
    const exited = exitOf(worker.proc);
    const stopping = outputLine(worker.proc, 'stopping');
    worker.proc.kill('SIGTERM');
    await stopping; // the worker is closing while the POST is still unanswered
    hold.resolve(204);

    expect(await request.answered).toBe(204);
    expect(await exited).toBe(0);
    expect(await s.receipts.getJobState(job.id!)).toBe('completed'); // not left active to be re-run
    expect(webhook.requests.items).toHaveLength(1);
  });

  it('exits at once on a second signal, leaving the job to be run again', async () => {
    const webhook = await startWebhook(() => new Promise<number>(() => undefined));
    const s = setup('twosignals', webhook);
    const job = await s.receipts.add('receipts', { receipts: [receipt('d1')] }, nodeJobOptions);
    const worker = s.startWorker();
    await webhook.requests.waitFor(onPath('/receipts'), 15_000);
    const exited = exitOf(worker.proc);
    worker.proc.kill('SIGTERM');
    worker.proc.kill('SIGINT');

    expect(await exited).toBe(1);
    expect(isRunning(worker.proc)).toBe(false);
    expect(await s.receipts.getJobState(job.id!)).toBe('active'); // its lock expires: another worker runs it
  });

  it.each([
    ['WEBHOOK_TIMEOUT_MS', 'soon'],
    ['RECEIPT_WEBHOOK_URL', 'ftp://example.com/hook'],
    ['EVENTS_WEBHOOK_URL', 'not a url'],
    ['KEY_PREFIX', 'has space'],
    ['REDIS_URL', 'http://127.0.0.1:6379'],
    ['LOG_LEVEL', 'chatty'],
  ])('exits 2 with one line naming %s when it is %j', async (variable, value) => {
    const { code, stdout, stderr } = await runCli(['worker'], { [variable]: value });
    expect(code).toBe(2);
    expect(stdout).toBe('');
    const lines = stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(variable);
    expect(lines[0]).toMatch(/^io-session: invalid configuration: /);
  });

  it.each([
    ['RECEIPT_WEBHOOK_URL', 'ftp://hook:W3bh00kPass@example.com/in', 'W3bh00kPass'],
    ['EVENTS_WEBHOOK_URL', 'https://hook:Ev3ntsPass@exa mple.com/in', 'Ev3ntsPass'],
    ['REDIS_URL', 'http://:R3disPass@127.0.0.1:6379', 'R3disPass'],
    ['REDIS_URL', 'redis://user:R3dis Pass@[::1', 'R3dis Pass'],
  ])('exits 2 naming %s without printing its password', async (variable, value, secret) => {
    const { code, stdout, stderr } = await runCli(['worker'], { [variable]: value });
    expect(code).toBe(2);
    expect(stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(stderr).toContain(variable);
    expect(stderr + stdout).not.toContain(secret);
    expect(stderr).toContain('***@');
  });
});
