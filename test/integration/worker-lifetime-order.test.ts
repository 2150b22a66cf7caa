import type { SessionEvent } from '@io-session/store';
import {
  createWorker,
  QueueName,
  queuePrefix,
  relayJobOptions,
  safeJobId,
  type SessionEventJob,
} from '@io-session/worker';
import { Queue } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { deferCleanup } from '../helpers/cleanup.js';
import { Recorder } from '../helpers/clients.js';
import { uniquePrefix } from '../helpers/prefix.js';
import { dropPrefixAfterwards, redisClient, redisTarget } from '../helpers/redis-client.js';

function event(type: SessionEvent['type'], sid: string, prev?: string): SessionEvent {
  return {
    type,
    token: 'mona',
    sid,
    id: `sock-${sid}`,
    status: type === 'session.started' ? 1 : 0,
    at: Date.now(),
    ...(type === 'session.ended' ? { reason: 'grace' as const } : {}),
    ...(prev ? { prev } : {}),
  };
}

describe('the worker hands the session events of one token in lifetime order', () => {
  it('a start that names the lifetime before it waits until that lifetime’s end was handed over', async () => {
    const prefix = uniquePrefix('order');
    dropPrefixAfterwards(prefix);
    const events = new Queue<SessionEventJob>(QueueName.sessionEvents, {
      connection: redisClient(),
      prefix: queuePrefix(prefix),
    });
    deferCleanup(() => events.close());
    const add = (e: SessionEvent, delay = 0) =>
      events.add(e.type, e, { ...relayJobOptions, jobId: safeJobId(`${e.type}-${e.sid}`), delay });
    // The end of lifetime one reaches the queue late (a slow relay, or its job retried with backoff), after the
    // start of lifetime two; lifetime two then ends too.
    await add(event('session.started', 'one'));
    await add(event('session.ended', 'one'), 400);
    await add(event('session.started', 'two', 'one'));
    await add(event('session.ended', 'two'), 2000);

    const handed = new Recorder<string>();
    const worker = createWorker({
      connection: redisTarget(),
      prefix,
      connectionListener: (e) => handed.push(`${e.type}:${e.sid}`),
    });
    deferCleanup(() => worker.close());
    await handed.waitForCount(() => true, 4, 10_000);
    expect(handed.items).toEqual([
      'session.started:one',
      'session.ended:one',
      'session.started:two',
      'session.ended:two',
    ]);
  });
});
