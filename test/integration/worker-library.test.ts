import type { Receipt, SessionEvent } from '@io-session/store';
import {
  cappedBackoffDelay,
  createWorker,
  QueueName,
  queuePrefix,
  safeJobId,
  type IoSessionWorker,
  type IoSessionWorkerOptions,
  type JobFailure,
  type JobOutcome,
  type ReceiptsJob,
  type SessionEventJob,
} from '@io-session/worker';
import { Queue, type JobsOptions } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { deferCleanup } from '../helpers/cleanup.js';
import { Recorder } from '../helpers/clients.js';
import { uniquePrefix } from '../helpers/prefix.js';
import { dropPrefixAfterwards, redisClient, redisTarget, SHARED_REDIS_URL } from '../helpers/redis-client.js';
import { deferred } from '../helpers/webhook.js';

/** The options nodes add their jobs with (packages/server/src/outbox-relay.ts `relayJobOptions`). */
const nodeJobOptions: JobsOptions = {
  attempts: 1_000_000,
  backoff: { type: 'capped' },
  removeOnComplete: { age: 3600, count: 100_000 },
  removeOnFail: { age: 7 * 24 * 3600 },
};

function receipt(id: string, token = 'tok'): Receipt {
  return { id, token, data: { id }, deliveredAt: 1_700_000_000_000, nodeId: 'node-a', socketId: `s-${id}` };
}

function sessionEvent(type: SessionEvent['type'], sid: string, token = 'tok'): SessionEvent {
  return {
    type,
    token,
    sid,
    id: `sock-${sid}`,
    status: type === 'session.started' ? 1 : 0,
    at: 1_700_000_000_000,
    ...(type === 'session.ended' ? { reason: 'grace' as const } : {}),
  };
}

interface Harness {
  prefix: string;
  receipts: Queue<ReceiptsJob>;
  events: Queue<SessionEventJob>;
  /** Adds receipts jobs the way nodes do; resolves with their job ids. */
  addReceipts(...batches: Receipt[][]): Promise<string[]>;
  /** Adds a session-events job the way nodes do (jobId `<type>-<sid>`), or under another job id. */
  addEvent(event: SessionEvent, jobId?: string): Promise<string>;
  start(options: Omit<IoSessionWorkerOptions, 'connection' | 'prefix'>): IoSessionWorker;
  completed: Recorder<JobOutcome>;
  failed: Recorder<JobFailure>;
}

function harness(label: string): Harness {
  const prefix = uniquePrefix(label);
  dropPrefixAfterwards(prefix);
  const connection = redisClient();
  const receipts = new Queue<ReceiptsJob>(QueueName.receipts, { connection, prefix: queuePrefix(prefix) });
  const events = new Queue<SessionEventJob>(QueueName.sessionEvents, {
    connection,
    prefix: queuePrefix(prefix),
  });
  deferCleanup(() => Promise.all([receipts.close(), events.close()]));
  const completed = new Recorder<JobOutcome>();
  const failed = new Recorder<JobFailure>();
  return {
    prefix,
    receipts,
    events,
    completed,
    failed,
    addReceipts: async (...batches) => {
      const jobs = await receipts.addBulk(
        batches.map((batch) => ({ name: 'receipts', data: { receipts: batch }, opts: nodeJobOptions })),
      );
      return jobs.map((j) => j.id!);
    },
    addEvent: async (event, jobId = `${event.type}-${event.sid}`) => {
      const job = await events.add(event.type, event, { ...nodeJobOptions, jobId: safeJobId(jobId) });
      return job.id!;
    },
    start: (options) => {
      const worker = createWorker({ connection: redisTarget(), prefix, ...options });
      worker.on('completed', completed.push);
      worker.on('failed', failed.push);
      deferCleanup(() => worker.close());
      return worker;
    },
  };
}

function tally(ids: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const id of ids) counts[id] = (counts[id] ?? 0) + 1;
  return counts;
}

describe('createWorker (library mode)', () => {
  it('hands each receipt once to onMessageDelivered and once to onReceipts, also when it is in two jobs', async () => {
    const h = harness('once');
    const delivered: string[] = [];
    const batches: string[][] = [];
    // One job at a time, so that the per-job `handed` counts add up (two jobs running at once may split a
    // receipt between the two handlers; that case has its own test below).
    h.start({
      concurrency: 1,
      onMessageDelivered: (r) => void delivered.push(r.id),
      onReceipts: (rs) => void batches.push(rs.map((r) => r.id)),
    });
    const [r1, r2, r3, r4, r5] = ['r1', 'r2', 'r3', 'r4', 'r5'].map((id) => receipt(id)) as Receipt[];
    // r3 relayed twice (a node crashed between relaying and trimming its outbox); r5 twice in one job.
    const jobIds = await h.addReceipts([r1!, r2!, r3!], [r3!, r4!], [r4!, r5!, r5!]);
    await h.completed.waitForCount((o) => jobIds.includes(o.jobId), 3, 15_000);

    expect(tally(delivered)).toEqual({ r1: 1, r2: 1, r3: 1, r4: 1, r5: 1 });
    expect(tally(batches.flat())).toEqual({ r1: 1, r2: 1, r3: 1, r4: 1, r5: 1 });
    const outcomes = h.completed.filter((o) => jobIds.includes(o.jobId));
    expect(outcomes.reduce((sum, o) => sum + o.handed, 0)).toBe(5);
    expect(outcomes.reduce((sum, o) => sum + o.items, 0)).toBe(7);
  });

  it('retries a job whose handler threw, with the capped backoff, skipping what was handed over before', async () => {
    const h = harness('retry');
    const calls: string[] = [];
    const delivered: string[] = [];
    let thrown = false;
    h.start({
      onMessageDelivered: (r) => {
        calls.push(r.id);
        if (r.id === 'r7' && !thrown) {
          thrown = true;
          throw new Error('the app database is down');
        }
        delivered.push(r.id);
      },
    });
    const [jobId] = await h.addReceipts(['r6', 'r7', 'r8'].map((id) => receipt(id)));
    const failure = await h.failed.waitFor((f) => f.jobId === jobId);
    const done = await h.completed.waitFor((o) => o.jobId === jobId, 15_000);

    expect(failure).toMatchObject({ queue: 'receipts', attemptsMade: 1, final: false });
    expect(failure.error.message).toBe('the app database is down');
    expect(calls).toEqual(['r6', 'r7', 'r7', 'r8']); // r6 was not handed over again on the retry
    expect(delivered).toEqual(['r6', 'r7', 'r8']);
    expect(done.handed).toBe(2);
    const job = await h.receipts.getJob(jobId!);
    expect(job?.attemptsStarted).toBe(2);
    // The retry started no sooner than the capped backoff's first delay after the job was added.
    expect(job!.processedOn! - job!.timestamp).toBeGreaterThanOrEqual(cappedBackoffDelay(1));
  });

  it('gives back the claims of a job that failed for good, so that another job can hand its receipts over', async () => {
    const h = harness('release');
    const delivered: string[] = [];
    h.start({
      onMessageDelivered: (r) => {
        if (r.token === 'poison') throw new Error('refused');
        delivered.push(r.id);
      },
    });
    // A producer with BullMQ's default of one attempt: the first job fails for good.
    const failing = await h.receipts.add('receipts', {
      receipts: [receipt('r12'), receipt('r13', 'poison')],
    });
    expect(await h.failed.waitFor((f) => f.jobId === failing.id)).toMatchObject({ final: true });
    const [later] = await h.addReceipts([receipt('r13')]);
    expect(await h.completed.waitFor((o) => o.jobId === later)).toMatchObject({ handed: 1 });
    expect(delivered).toEqual(['r12', 'r13']);
  });

  it('hands a receipt once when two jobs carrying it run at the same time', async () => {
    const h = harness('race');
    const calls: string[] = [];
    const started = new Recorder<string>();
    const release = deferred();
    h.start({
      concurrency: 2,
      onMessageDelivered: async (r) => {
        calls.push(r.id);
        started.push(r.id);
        if (r.id === 'r9') await release.promise;
      },
    });
    const [first] = await h.addReceipts([receipt('r9')]);
    await started.waitFor((id) => id === 'r9');
    const [second] = await h.addReceipts([receipt('r9'), receipt('r10')]);
    // The second job skips r9, which the first one holds, and completes while the first still runs.
    const secondDone = await h.completed.waitFor((o) => o.jobId === second);
    expect(secondDone).toMatchObject({ items: 2, handed: 1 });
    release.resolve();
    await h.completed.waitFor((o) => o.jobId === first);
    expect(tally(calls)).toEqual({ r9: 1, r10: 1 });
  });

  it('hands each session event once to connectionListener and to onSessionEvents', async () => {
    const h = harness('events');
    const listened: SessionEvent[] = [];
    const batched: SessionEvent[] = [];
    h.start({
      connectionListener: (event) => void listened.push(event),
      onSessionEvents: (events) => void batched.push(...events),
    });
    const started = sessionEvent('session.started', 'sid-1');
    const ended = sessionEvent('session.ended', 'sid-1');
    const ids = [
      await h.addEvent(started),
      await h.addEvent(ended),
      // The same event relayed again after its first job was removed: a new job, the same event.
      await h.addEvent(started, 'session.started-sid-1-relayed-again'),
    ];
    await h.completed.waitForCount((o) => ids.includes(o.jobId), 3);

    expect(ids[0]).toBe('session.started-sid-1');
    expect(listened).toHaveLength(2);
    expect(listened).toEqual(expect.arrayContaining([started, ended]));
    expect(listened.find((e) => e.status === 1)).toMatchObject({ id: 'sock-sid-1', token: 'tok', status: 1 });
    expect(batched).toHaveLength(2);
    expect(batched).toEqual(expect.arrayContaining([started, ended]));
  });

  it('close() waits for the running job to finish', async () => {
    const h = harness('close');
    const release = deferred();
    const started = new Recorder<string>();
    const worker = h.start({
      onMessageDelivered: async (r) => {
        started.push(r.id);
        await release.promise;
      },
    });
    const [jobId] = await h.addReceipts([receipt('r11')]);
    await started.waitFor();
    const closed = worker.close();
    release.resolve();
    await closed;
    expect(await h.receipts.getJobState(jobId!)).toBe('completed');
  });

  it('fails a malformed job for good instead of retrying it for ever', async () => {
    const h = harness('malformed');
    h.start({ onMessageDelivered: () => undefined });
    const job = await h.receipts.add('receipts', { receipts: 'nope' } as never, nodeJobOptions);
    const failure = await h.failed.waitFor((f) => f.jobId === job.id);
    expect(failure).toMatchObject({ attemptsMade: 1, final: true });
    expect(await h.receipts.getJobState(job.id!)).toBe('failed');
  });

  it('the capped backoff doubles from 1 s up to 60 s', () => {
    expect([1, 2, 3, 6, 7, 8, 100].map(cappedBackoffDelay)).toEqual([
      1000, 2000, 4000, 32_000, 60_000, 60_000, 60_000,
    ]);
  });

  it('needs a handler', () => {
    expect(() => createWorker({ connection: SHARED_REDIS_URL })).toThrow(/needs a handler/);
  });
});
