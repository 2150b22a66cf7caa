import { connect } from '@io-session/client';
import { freePort } from '@io-session/devtools';
import { loadConfig, startNode, type RunningNode } from '@io-session/server';
import type { Receipt } from '@io-session/store';
import { createWorker, PushQueue, type IoSessionWorker } from '@io-session/worker';
import { trace } from '@opentelemetry/api';
import {
  InMemorySpanExporter,
  NodeTracerProvider,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deferCleanup } from '../helpers/cleanup.js';
import { Recorder } from '../helpers/clients.js';
import { DeliveryClient, pushAccepted } from '../helpers/delivery.js';
import { TEST_API_KEY } from '../helpers/node-process.js';
import { uniquePrefix } from '../helpers/prefix.js';
import { dropPrefixAfterwards, SHARED_REDIS_URL } from '../helpers/redis-client.js';
import { waitUntil } from '../helpers/wait.js';

/**
 * Issue 14, tracing: with OTEL_EXPORTER_OTLP_ENDPOINT set (the switch every part reads), one push is one trace —
 * from `PushQueue` or `POST /v1/push`, through the node that stores it, the node that sends it, the client's
 * acknowledgement and the receipts job the worker consumes. The spans go to an in-memory exporter of a tracer
 * provider registered in this process; a real node (HTTP API and Socket.IO), a real client, a real worker, one
 * Redis. The push of the third test is stored while its session has no connection and sent by the replay of the
 * next one: its trace reaches the acknowledgement only through the traceparent stored with the message.
 */
const exporter = new InMemorySpanExporter();
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const prefix = uniquePrefix('otel');
const delivered = new Recorder<Receipt>();
let node: RunningNode;
let worker: IoSessionWorker;
let queue: PushQueue;
let url: string;

const spans = (): ReadableSpan[] => exporter.getFinishedSpans();
const idOf = (s: ReadableSpan): unknown => s.attributes['io_session.message.id'];

/**
 * The spans of one push, once the worker's spans of its receipt have ended (its `io-session.receipt` span ends
 * inside the job's run, BullMQ's `process receipts` span just after it).
 */
async function spansOfPush(id: string): Promise<{ traceId: string; all: ReadableSpan[] }> {
  return waitUntil(
    () => {
      const receipt = spans().find((s) => s.name === 'io-session.receipt' && idOf(s) === id);
      if (!receipt) return undefined;
      const traceId = receipt.spanContext().traceId;
      const all = spans().filter((s) => s.spanContext().traceId === traceId);
      return all.some((s) => s.name === 'process receipts') ? { traceId, all } : undefined;
    },
    { message: `the worker's io-session.receipt and process receipts spans of ${id}` },
  );
}

/** Names of the spans in one trace that the node and the worker made for message `id` (and the queue hops). */
function expectOnePushTrace(all: ReadableSpan[], id: string): void {
  const names = new Set(all.map((s) => s.name));
  for (const name of ['io-session.push', 'io-session.relay', 'process receipts'])
    expect(names).toContain(name);
  for (const name of ['io-session.deliver', 'io-session.ack', 'io-session.receipt'])
    expect(
      all.some((s) => s.name === name && idOf(s) === id),
      `${name} of ${id}`,
    ).toBe(true);
  // every span has its parent in the same trace, but the first
  const ids = new Set(all.map((s) => s.spanContext().spanId));
  const roots = all.filter((s) => !s.parentSpanContext || !ids.has(s.parentSpanContext.spanId));
  expect(roots.length, roots.map((s) => s.name).join(', ')).toBeLessThanOrEqual(1);
}

beforeAll(async () => {
  provider.register();
  // What switches tracing on everywhere (the node, PushQueue, the worker); the SDK is this file's provider.
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = 'http://127.0.0.1:4318';
  dropPrefixAfterwards(prefix);
  const port = await freePort();
  node = await startNode(
    loadConfig({
      REDIS_URL: SHARED_REDIS_URL,
      KEY_PREFIX: prefix,
      PORT: String(port),
      NODE_ID: `otel-${port}`,
      API_KEY: TEST_API_KEY,
      LOG_LEVEL: 'warn',
      SESSION_TIMEOUT_MS: '10000',
    }),
  );
  url = `http://127.0.0.1:${port}`;
  worker = createWorker({
    connection: SHARED_REDIS_URL,
    prefix,
    onMessageDelivered: (r) => delivered.push(r),
  });
  queue = new PushQueue({ connection: SHARED_REDIS_URL, prefix });
  await worker.ready();
});

afterAll(async () => {
  await queue?.close();
  await worker?.close();
  await node?.shutdown(0);
  delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
  await provider.shutdown();
  trace.disable();
});

describe('tracing (OTEL_EXPORTER_OTLP_ENDPOINT set)', () => {
  it('a PushQueue push is one trace: add push, the node, the client’s ack, the receipts job in the worker', async () => {
    const client = new DeliveryClient({ token: 'otel-q', v2: true });
    await client.connect(url);
    await queue.push('otel-q', { n: 1 }, { id: 'otel-q-1' });
    await delivered.waitFor((r) => r.id === 'otel-q-1', 15_000, 'the receipt of otel-q-1');
    const { all } = await spansOfPush('otel-q-1');
    const names = all.map((s) => s.name);
    expect(names).toContain('add push.push');
    expect(names).toContain('process push');
    expectOnePushTrace(all, 'otel-q-1');
    expect(delivered.items.find((r) => r.id === 'otel-q-1')?.traceparent).toMatch(/^00-[0-9a-f]{32}-/);
  });

  it('a POST /v1/push is one trace, the child of the caller’s traceparent', async () => {
    const client = new DeliveryClient({ token: 'otel-h', v2: false });
    await client.connect(url);
    const callerTrace = '4bf92f3577b34da6a3ce929d0e0e4736';
    const res = await fetch(`${url}/v1/push`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${TEST_API_KEY}`,
        'content-type': 'application/json',
        traceparent: `00-${callerTrace}-00f067aa0ba902b7-01`,
      },
      body: JSON.stringify({ token: 'otel-h', data: { n: 2 }, id: 'otel-h-1' }),
    });
    expect(res.status).toBe(202);
    const { traceId, all } = await spansOfPush('otel-h-1');
    expect(traceId).toBe(callerTrace);
    expect(all.map((s) => s.name)).toContain('POST /v1/push');
    expectOnePushTrace(all, 'otel-h-1');
  });

  it('a push to the SDK (protocol 3 frames) is one trace too', async () => {
    const client = connect(url, { token: 'otel-s', transports: ['websocket'] });
    deferCleanup(() => client.close());
    client.onPush(() => undefined);
    await waitUntil(async () => (await node.handler.getSession('otel-s'))?.connections.length === 1, {
      message: 'otel-s is connected',
    });
    await queue.pushMany([
      { token: 'otel-s', data: { n: 1 }, id: 'otel-s-1' },
      { token: 'otel-s', data: { n: 2 }, id: 'otel-s-2' },
    ]);
    for (const id of ['otel-s-1', 'otel-s-2']) expectOnePushTrace((await spansOfPush(id)).all, id);
    const [a, b] = await Promise.all(['otel-s-1', 'otel-s-2'].map(spansOfPush));
    expect(a?.traceId).toBe(b?.traceId);
  });

  it('a push stored while its session has no connection keeps its trace through Redis to the replay and the ack', async () => {
    const client = new DeliveryClient({ token: 'otel-r', v2: true });
    await client.connect(url);
    await client.disconnect();
    await waitUntil(async () => (await node.handler.getSession('otel-r'))?.connections.length === 0, {
      message: 'otel-r has no connection (in its grace)',
    });
    await pushAccepted(url, { token: 'otel-r', data: { n: 3 }, id: 'otel-r-1' });
    const stored = await node.handler.store.inbox.find('otel-r', 'otel-r-1');
    expect(stored?.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    await client.connect(url);
    const { traceId, all } = await spansOfPush('otel-r-1');
    expect(stored?.traceparent?.slice(3, 35)).toBe(traceId);
    expectOnePushTrace(all, 'otel-r-1');
    expect(all.some((s) => s.name === 'POST /v1/push')).toBe(true);
  });
});
