/**
 * The two producer examples of examples/ (README "Schemas"), run as an app would run them, against a real
 * `io-session node` process: the message must reach a connected v2 client, and be settled by its ack.
 */
import { spawn } from 'node:child_process';
import { QueueName, queuePrefix } from '@io-session/worker';
import { Queue } from 'bullmq';
import type { Socket } from 'socket.io-client';
import { beforeAll, describe, expect, it } from 'vitest';
import { exitOf, OutputBuffer, trackChild } from '../helpers/child.js';
import { deferCleanup } from '../helpers/cleanup.js';
import { api, connectClient, Recorder } from '../helpers/clients.js';
import { REPO_ROOT, startNode, TEST_API_KEY, type NodeProcess } from '../helpers/node-process.js';
import { uniquePrefix } from '../helpers/prefix.js';
import { dropPrefixAfterwards, redisClient, SHARED_REDIS_URL } from '../helpers/redis-client.js';
import { waitUntil } from '../helpers/wait.js';

const EXAMPLES = `${REPO_ROOT}examples/`;

let node: NodeProcess;
let prefix: string;

beforeAll(async () => {
  prefix = uniquePrefix('producers');
  dropPrefixAfterwards(prefix);
  node = await startNode({ redisUrl: SHARED_REDIS_URL, prefix });
});

/** Runs an example with only the environment it documents; resolves with its exit code and output. */
async function run(
  file: string,
  env: Record<string, string>,
): Promise<{ code: number | null; output: string }> {
  const proc = spawn(process.execPath, [`${EXAMPLES}${file}`], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  trackChild(proc);
  const output = new OutputBuffer();
  proc.stdout.on('data', (c: Buffer) => output.append(c));
  proc.stderr.on('data', (c: Buffer) => output.append(c));
  const code = await exitOf(proc);
  return { code, output: output.toString() };
}

interface Push {
  id: string;
  data: unknown;
}

/** A v2 client of `token` that records and acknowledges every push. */
async function client(token: string): Promise<{ socket: Socket; pushes: Recorder<Push> }> {
  const socket = await connectClient(node.url, { token, v: 2 });
  const pushes = new Recorder<Push>();
  socket.on('push_message', (message: Push, ack?: () => void) => {
    pushes.push(message);
    ack?.();
  });
  return { socket, pushes };
}

function delivered(id: string): Promise<unknown> {
  return waitUntil(
    async () =>
      (await api<{ status: string }>(node.url, `/v1/messages/${id}`, { apiKey: TEST_API_KEY })).body
        .status === 'delivered',
    { message: `${id} delivered` },
  );
}

describe('the producer examples', () => {
  it('http-push.mjs: fetch POST /v1/push with the API key reaches the connected client', async () => {
    const { pushes } = await client('example-http');
    const id = `http-${prefix}`;
    const env = { IO_SESSION_URL: node.url, API_KEY: TEST_API_KEY, TOKEN: 'example-http', MESSAGE_ID: id };
    const { code, output } = await run('http-push.mjs', env);
    expect(output.trim()).toBe(`202 ${JSON.stringify({ id, accepted: true, duplicate: false })}`);
    expect(code).toBe(0);

    expect(await pushes.waitFor((p) => p.id === id)).toEqual(
      expect.objectContaining({ id, data: { text: 'hello over HTTP' } }),
    );
    await delivered(id);

    const again = await run('http-push.mjs', env); // the same id again: stored once
    expect(again.output.trim()).toBe(`202 ${JSON.stringify({ id, accepted: true, duplicate: true })}`);
    const noSession = await run('http-push.mjs', { ...env, TOKEN: 'nobody-here', MESSAGE_ID: `${id}-x` });
    expect(noSession.code).toBe(1);
    expect(noSession.output).toMatch(/^404 /);
  });

  it('bullmq-push.mjs: a plain BullMQ job on the push queue reaches the connected client', async () => {
    const { pushes } = await client('example-bullmq');
    const id = `bullmq-${prefix}`;
    const { code, output } = await run('bullmq-push.mjs', {
      REDIS_URL: SHARED_REDIS_URL,
      KEY_PREFIX: prefix,
      TOKEN: 'example-bullmq',
      MESSAGE_ID: id,
    });
    expect(output.trim()).toBe(`queued m-${id}`);
    expect(code).toBe(0);

    expect(await pushes.waitFor((p) => p.id === id, 15_000)).toEqual(
      expect.objectContaining({ id, data: { text: 'hello over BullMQ' } }),
    );
    await delivered(id);
    const queue = new Queue(QueueName.push, { connection: redisClient(), prefix: queuePrefix(prefix) });
    deferCleanup(() => queue.close());
    await waitUntil(async () => (await queue.getJobState(`m-${id}`)) === 'completed', {
      message: 'the example job completed',
    });
  });
});
