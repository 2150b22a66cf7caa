import { createServer } from 'node:http';
import { freePort } from '@io-session/devtools';
import { storeDefaults } from '@io-session/store';
import { beforeAll, describe, expect, it } from 'vitest';
import { trackChild } from '../helpers/child.js';
import { deferCleanup } from '../helpers/cleanup.js';
import { DeliveryClient, pushAccepted } from '../helpers/delivery.js';
import { spawnCli, startNode, type NodeProcess } from '../helpers/node-process.js';
import { uniquePrefix } from '../helpers/prefix.js';
import { openStore } from '../helpers/store.js';
import { dropPrefixAfterwards, SHARED_REDIS_URL } from '../helpers/redis-client.js';
import { waitUntil } from '../helpers/wait.js';

/**
 * Issue 14, tracing as operators switch it on: `io-session node` and `io-session worker` processes with the standard
 * OTEL_EXPORTER_OTLP_ENDPOINT send their spans with OTLP/HTTP (JSON) to a collector — here a test HTTP server —
 * and the spans of one push, from both processes, share one trace id. Without the variable nothing is sent.
 */
interface CollectedSpan {
  service: string;
  name: string;
  traceId: string;
  attributes: Record<string, unknown>;
}

interface OtlpBody {
  resourceSpans?: {
    resource?: { attributes?: { key: string; value: { stringValue?: string } }[] };
    scopeSpans?: {
      spans?: {
        name: string;
        traceId: string;
        attributes?: { key: string; value: Record<string, unknown> }[];
      }[];
    }[];
  }[];
}

const collected: CollectedSpan[] = [];
let endpoint = '';
const prefix = uniquePrefix('otlp');

function collect(body: OtlpBody): void {
  for (const rs of body.resourceSpans ?? []) {
    const service = rs.resource?.attributes?.find((a) => a.key === 'service.name')?.value.stringValue ?? '';
    for (const ss of rs.scopeSpans ?? [])
      for (const span of ss.spans ?? []) {
        const attributes = Object.fromEntries(
          (span.attributes ?? []).map((a) => [a.key, Object.values(a.value)[0]]),
        );
        collected.push({ service, name: span.name, traceId: span.traceId, attributes });
      }
  }
}

beforeAll(async () => {
  dropPrefixAfterwards(prefix);
  const port = await freePort();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.url === '/v1/traces') collect(JSON.parse(Buffer.concat(chunks).toString()) as OtlpBody);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  deferCleanup(() => new Promise<void>((resolve) => server.close(() => resolve())));
  endpoint = `http://127.0.0.1:${port}`;
});

describe('tracing with OTLP/HTTP from the node and worker commands', () => {
  let node: NodeProcess;
  const tracingEnv = (): Record<string, string> => ({
    OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
    OTEL_BSP_SCHEDULE_DELAY: '100',
  });

  it('one push: the node’s and the worker’s spans reach the collector in one trace', async () => {
    node = await startNode({ redisUrl: SHARED_REDIS_URL, prefix, env: tracingEnv() });
    const { proc } = spawnCli(['worker'], {
      REDIS_URL: SHARED_REDIS_URL,
      KEY_PREFIX: prefix,
      LOG_LEVEL: 'warn',
      ...tracingEnv(),
    });
    trackChild(proc);
    const client = new DeliveryClient({ token: 'otlp-a', v2: true });
    await client.connect(node.url);
    await pushAccepted(node.url, { token: 'otlp-a', data: { n: 1 }, id: 'otlp-a-1' });
    const wanted = ['POST /v1/push', 'io-session.push', 'io-session.deliver', 'io-session.ack'];
    // each process exports in its own batches: wait for the whole trace, then look at who sent what
    const { receipt, trace } = await waitUntil(
      () => {
        const receipt = collected.find(
          (s) => s.name === 'io-session.receipt' && s.attributes['io_session.message.id'] === 'otlp-a-1',
        );
        const trace = collected.filter((s) => s.traceId === receipt?.traceId);
        const names = new Set(trace.map((s) => s.name));
        return receipt && [...wanted, 'process receipts'].every((n) => names.has(n))
          ? { receipt, trace }
          : undefined;
      },
      { timeout: 20_000, message: 'the spans of otlp-a-1, from the node and the worker, at the collector' },
    );
    expect(receipt.service).toBe('io-session-worker');
    const byNode = new Set(trace.filter((s) => s.service === 'io-session-node').map((s) => s.name));
    for (const name of wanted) expect(byNode).toContain(name);
    expect(trace.some((s) => s.service === 'io-session-worker' && s.name === 'process receipts')).toBe(true);
    await node.stop();
  });

  it('without OTEL_EXPORTER_OTLP_ENDPOINT a node stores no trace part and sends no span', async () => {
    const quiet = await startNode({
      redisUrl: SHARED_REDIS_URL,
      prefix,
      env: { OTEL_SERVICE_NAME: 'quiet-node' },
    });
    const client = new DeliveryClient({ token: 'otlp-b', v2: true, autoAck: false });
    await client.connect(quiet.url);
    await pushAccepted(quiet.url, { token: 'otlp-b', data: { n: 2 }, id: 'otlp-b-1' });
    await client.waitForCount(1);
    // counted at the source: the stored message itself
    const { store } = openStore({ prefix, buckets: storeDefaults.buckets });
    const stored = await store.inbox.find('otlp-b', 'otlp-b-1');
    expect(stored?.text).toBe('{"n":2}');
    expect(stored?.traceparent).toBeUndefined();
    expect(await quiet.stop()).toBe(0);
    expect(collected.some((s) => s.service === 'quiet-node')).toBe(false);
  });
});
