import type { Receipt, SessionEvent } from '@io-session/store';
import {
  cappedBackoffDelay,
  createWorker,
  QueueName,
  queuePrefix,
  relayJobOptions,
  safeJobId,
  type IoSessionWorker,
  type IoSessionWorkerOptions,
  type JobFailure,
  type JobOutcome,
  type ReceiptsJob,
  type SessionEventJob,
  workerDefaults,
} from '@io-session/worker';
import { Queue, type JobsOptions } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { deferCleanup } from '../helpers/cleanup.js';
import { Recorder } from '../helpers/clients.js';
import { uniquePrefix } from '../helpers/prefix.js';
import { dropPrefixAfterwards, redisClient, redisTarget, SHARED_REDIS_URL } from '../helpers/redis-client.js';
import { waitUntil } from '../helpers/wait.js';
import { deferred } from '../helpers/webhook.js';
import { keysPerPrimary, workerKeys } from '../helpers/worker-keys.js';

/** The options nodes add their jobs with (`relayJobOptions`), keeping completed jobs so that tests can look at them. */
const nodeJobOptions: JobsOptions = { ...relayJobOptions, removeOnComplete: { age: 3600, count: 100_000 } };

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
  /** The worker's own keys (dedupe markers) under the prefix, counted with SCAN. */
  markers(): Promise<string[]>;
  /** Resolves once the worker holds no key under the prefix (markers go right after a job completed). */
  noMarkersLeft(): Promise<void>;
  redis: ReturnType<typeof redisClient>;
  /** Takes the BullMQ lock of a running job away, as a crash or a stall would: BullMQ runs the job again. */
  dropLock(jobId: string): Promise<void>;
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
  const markers = () => workerKeys(connection, prefix);
  return {
    prefix,
    receipts,
    events,
    completed,
    failed,
    markers,
    redis: connection,
    noMarkersLeft: async () => {
      await waitUntil(async () => (await markers()).length === 0, { message: 'no dedupe marker left' });
    },
    dropLock: async (jobId) => {
      expect(await connection.del(receipts.toKey(`${jobId}:lock`))).toBe(1);
    },
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
  it('hands each job’s receipts once to onReceipts and to onMessageDelivered, with one marker per job in flight and none after', async () => {
    const h = harness('once');
    const delivered: string[] = [];
    const batches: string[][] = [];
    const markersSeen: number[] = [];
    h.start({
      concurrency: 1,
      onReceipts: async (rs) => {
        batches.push(rs.map((r) => r.id));
        markersSeen.push((await h.markers()).length);
      },
      onMessageDelivered: (r) => void delivered.push(r.id),
    });
    const [r1, r2, r3, r4, r5] = ['r1', 'r2', 'r3', 'r4', 'r5'].map((id) => receipt(id)) as Receipt[];
    // r5 twice in one job: handed over once.
    const jobIds = await h.addReceipts([r1!, r2!, r3!], [r4!, r5!, r5!]);
    await h.completed.waitForCount((o) => jobIds.includes(o.jobId), 2, 15_000);

    expect(batches).toEqual([
      ['r1', 'r2', 'r3'],
      ['r4', 'r5'],
    ]);
    expect(tally(delivered)).toEqual({ r1: 1, r2: 1, r3: 1, r4: 1, r5: 1 });
    const outcomes = h.completed.filter((o) => jobIds.includes(o.jobId));
    expect(outcomes.map((o) => [o.items, o.handed])).toEqual([
      [3, 3],
      [2, 2],
    ]);
    // While a handler ran, its job's claim was in Redis (the previous job's markers may not be deleted yet).
    expect(markersSeen[0]).toBe(1);
    expect(Math.min(...markersSeen)).toBeGreaterThanOrEqual(1);
    await h.noMarkersLeft();
  });

  it('does not dedupe across jobs: nodes add each outbox entry as one job, so a receipt comes twice only in two jobs', async () => {
    const h = harness('twojobs');
    const delivered: string[] = [];
    h.start({ onMessageDelivered: (r) => void delivered.push(r.id) });
    // The same outbox entry relayed twice (a node died before deleting it): one job (relay.ts deduplication id).
    const asNodesDo = { ...nodeJobOptions, deduplication: { id: 'r-7-1700000000000-0-0', ttl: 600_000 } };
    const first = await h.receipts.add('receipts', { receipts: [receipt('d1')] }, asNodesDo);
    const again = await h.receipts.add('receipts', { receipts: [receipt('d1')] }, asNodesDo);
    expect(again.id).toBe(first.id);
    // The same receipt in another job (a re-relay past the queue's dedupe window): handed over again.
    const [other] = await h.addReceipts([receipt('d1')]);
    await h.completed.waitForCount((o) => o.jobId === first.id || o.jobId === other, 2);
    expect(await h.receipts.getJobCounts('completed', 'waiting', 'delayed', 'active')).toMatchObject({
      completed: 2,
    });
    expect(delivered).toEqual(['d1', 'd1']);
  });

  it('retries a job whose handler threw on item k, with the capped backoff, resuming at item k', async () => {
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
    expect(job?.progress).toEqual({ handed: { onMessageDelivered: 1 } }); // kept with the job, not in keys
    // The retry started no sooner than the capped backoff's first delay after the job was added.
    expect(job!.processedOn! - job!.timestamp).toBeGreaterThanOrEqual(cappedBackoffDelay(1));
    await h.noMarkersLeft();
  });

  it('does not hand a job’s receipts to onReceipts again when its onMessageDelivered threw', async () => {
    const h = harness('stages');
    const batches: string[][] = [];
    const calls: string[] = [];
    let thrown = false;
    h.start({
      onReceipts: (rs) => void batches.push(rs.map((r) => r.id)),
      onMessageDelivered: (r) => {
        calls.push(r.id);
        if (r.id === 'b2' && !thrown) {
          thrown = true;
          throw new Error('refused once');
        }
      },
    });
    const [jobId] = await h.addReceipts(['b1', 'b2', 'b3'].map((id) => receipt(id)));
    await h.failed.waitFor((f) => f.jobId === jobId);
    expect(await h.completed.waitFor((o) => o.jobId === jobId, 15_000)).toMatchObject({
      items: 3,
      handed: 2,
    });

    expect(batches).toEqual([['b1', 'b2', 'b3']]);
    expect(calls).toEqual(['b1', 'b2', 'b2', 'b3']);
    expect((await h.receipts.getJob(jobId!))?.progress).toEqual({
      handed: { onReceipts: 3, onMessageDelivered: 1 },
    });
    await h.noMarkersLeft();
  });

  it('hands nothing again when BullMQ runs a job again after its handler resolved', async () => {
    const h = harness('rerun');
    const calls: string[] = [];
    let dropped = false;
    h.start({
      lockDurationMs: 500,
      onReceipts: async (rs) => {
        calls.push(...rs.map((r) => r.id));
        // As if the worker died right after the handler resolved: the run cannot record the job completed.
        if (!dropped) await h.dropLock('j-rerun');
        dropped = true;
      },
    });
    const data = { receipts: ['e1', 'e2'].map((id) => receipt(id)) };
    await h.receipts.add('receipts', data, { ...nodeJobOptions, jobId: 'j-rerun' });
    const outcome = await h.completed.waitFor((o) => o.jobId === 'j-rerun', 15_000);

    expect(outcome).toMatchObject({ items: 2, handed: 0 }); // the run that completed it found the handler done
    expect(calls).toEqual(['e1', 'e2']);
    expect((await h.receipts.getJob('j-rerun'))?.attemptsStarted).toBe(2);
    expect(h.failed.items).toEqual([]);
    await h.noMarkersLeft();
  });

  it('never lets two runs of one job hand its items over at once: a stalled job’s second run waits for the first', async () => {
    const h = harness('tworuns');
    const release = deferred();
    const started = new Recorder<string>();
    let inHandler = 0;
    let most = 0;
    h.start({
      concurrency: 2,
      lockDurationMs: 500,
      onMessageDelivered: async (r) => {
        most = Math.max(most, ++inHandler);
        started.push(r.id);
        if (r.id === 'f1') await release.promise;
        inHandler -= 1;
      },
    });
    const data = { receipts: ['f1', 'f2'].map((id) => receipt(id)) };
    await h.receipts.add('receipts', data, { ...nodeJobOptions, jobId: 'j-two' });
    await started.waitFor((id) => id === 'f1');
    // The first run loses its lock but goes on (a stall): BullMQ runs the job again meanwhile. That run finds
    // the claim held and moves the job to delayed, run after run, handing nothing over.
    await h.dropLock('j-two');
    await waitUntil(async () => ((await h.receipts.getJob('j-two'))?.attemptsStarted ?? 0) >= 3, {
      message: 'the job started twice more while its first run was held',
    });
    expect(started.items).toEqual(['f1']);
    release.resolve();
    const outcome = await h.completed.waitFor((o) => o.jobId === 'j-two', 15_000);

    expect(tally(started.items)).toEqual({ f1: 1, f2: 1 });
    expect(most).toBe(1);
    expect(outcome).toMatchObject({ items: 2, handed: 0 }); // the first run handed both, then could not complete
    expect(h.failed.items).toEqual([]); // waiting for the other run is no failed attempt
    await h.noMarkersLeft();
  });

  it('leaves no marker behind a job that failed for good; retried by hand, it resumes at the item that threw', async () => {
    const h = harness('byhand');
    const calls: string[] = [];
    let refuse = true;
    h.start({
      onMessageDelivered: (r) => {
        calls.push(r.id);
        if (r.id === 'g2' && refuse) throw new Error('refused');
      },
    });
    // A producer with BullMQ's default of one attempt: the job fails for good.
    const job = await h.receipts.add('receipts', { receipts: ['g1', 'g2', 'g3'].map((id) => receipt(id)) });
    expect(await h.failed.waitFor((f) => f.jobId === job.id)).toMatchObject({ final: true });
    await h.noMarkersLeft();
    refuse = false;
    await (await h.receipts.getJob(job.id!))!.retry();

    expect(await h.completed.waitFor((o) => o.jobId === job.id)).toMatchObject({ items: 3, handed: 2 });
    expect(calls).toEqual(['g1', 'g2', 'g2', 'g3']);
    await h.noMarkersLeft();
  });

  it('hands each session-events job once to connectionListener and to onSessionEvents', async () => {
    const h = harness('events');
    const listened: SessionEvent[] = [];
    const batched: SessionEvent[] = [];
    h.start({
      connectionListener: (event) => void listened.push(event),
      onSessionEvents: (events) => void batched.push(...events),
    });
    const started = sessionEvent('session.started', 'sid-1');
    const ended = sessionEvent('session.ended', 'sid-1');
    const ids = [await h.addEvent(started), await h.addEvent(ended)];
    await h.completed.waitForCount((o) => ids.includes(o.jobId), 2);

    expect(ids[0]).toBe('session.started-sid-1');
    expect(listened).toHaveLength(2);
    expect(listened).toEqual(expect.arrayContaining([started, ended]));
    expect(listened.find((e) => e.status === 1)).toMatchObject({ id: 'sock-sid-1', token: 'tok', status: 1 });
    expect(batched).toHaveLength(2);
    expect(batched).toEqual(expect.arrayContaining([started, ended]));
    await h.noMarkersLeft();

    // The same event in a second job (a node's re-relay past the queue's dedupe window) is handed over again:
    // receivers dedupe by type + sid.
    const again = await h.addEvent(started, 'session.started-sid-1-relayed-again');
    await h.completed.waitFor((o) => o.jobId === again);
    expect(listened.filter((e) => e.type === 'session.started')).toHaveLength(2);
  });

  it('keeps no Redis key per receipt: 10,000 receipts in 20 jobs leave no worker key', async () => {
    const h = harness('keys');
    const jobs = 20;
    const perJob = 500;
    let received = 0;
    let mostMarkers = 0;
    h.start({
      onReceipts: async (rs) => {
        received += rs.length;
        mostMarkers = Math.max(mostMarkers, (await h.markers()).length);
      },
    });
    const added = await h.receipts.addBulk(
      Array.from({ length: jobs }, (_, j) => ({
        name: 'receipts',
        data: { receipts: Array.from({ length: perJob }, (_, i) => receipt(`m${j}-${i}`)) },
        opts: { ...relayJobOptions, deduplication: { id: `r-${j}-1700000000000-${j}-0`, ttl: 600_000 } },
      })),
    );
    await h.completed.waitForCount((o) => added.some((j) => j.id === o.jobId), jobs, 30_000);
    expect(received).toBe(jobs * perJob);
    await h.noMarkersLeft();

    const bull = (await keysPerPrimary(h.redis, `{${h.prefix}}*`)).flat();
    console.info(
      `[worker keys] ${jobs * perJob} receipts in ${jobs} jobs: at most ${mostMarkers} markers while jobs ran ` +
        `(concurrency ${workerDefaults.concurrency}), 0 after; ${bull.length} BullMQ keys left ` +
        `(${bull.filter((k) => k.includes(':de:')).length} deduplication ids, per job)`,
    );
    expect(mostMarkers).toBeGreaterThan(0);
    expect(mostMarkers).toBeLessThanOrEqual(workerDefaults.concurrency);
    expect(bull.filter((k) => /m\d+-\d+/.test(k))).toEqual([]);
    expect(bull.length).toBeLessThanOrEqual(jobs + 10);
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
