/* global process, console */
// A producer that writes a plain BullMQ job on the `push` queue, which every node consumes: what an app does
// without @io-session/worker (any BullMQ client, in any language, can do the same). Needs bullmq and ioredis only.
// Run: REDIS_URL=redis://127.0.0.1:6379 KEY_PREFIX=ios TOKEN=user-42 node examples/bullmq-push.mjs
// The job's shape is schemas/push-job.schema.json; the queue's BullMQ prefix is `{<KEY_PREFIX>}` (hash-tagged,
// so one prefix lives in one Redis Cluster slot). The job completes once the message is stored.
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';

const prefix = process.env.KEY_PREFIX ?? 'ios';
const token = process.env.TOKEN ?? 'user-42';
const id = process.env.MESSAGE_ID ?? `bullmq-example-${Date.now()}`;

const connection = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', {
  maxRetriesPerRequest: null,
});
const queue = new Queue('push', { connection, prefix: `{${prefix}}` });
const job = await queue.add(
  'push',
  { token, id, data: { text: 'hello over BullMQ' }, ttlMs: 60_000 },
  // A job id from the message id: adding the same message again enqueues nothing while the first job is kept.
  {
    jobId: `m-${id}`.replace(/:/g, '_'),
    attempts: 5,
    backoff: { type: 'exponential', delay: 1000 },
    removeOnComplete: 1000,
  },
);
console.log('queued', job.id);
await queue.close();
await connection.quit();
