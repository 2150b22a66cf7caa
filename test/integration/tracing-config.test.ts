import { fileURLToPath } from 'node:url';
import { contextOf, spanContextOf, traceparentOf, tracingRequested } from '@io-session/worker';
import { trace, TraceFlags } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/node-process.js';
import { SHARED_REDIS_URL } from '../helpers/redis-client.js';

/**
 * Tracing's switch and its bad configurations (issue 14): what turns it on, the traceparent helpers every hop uses,
 * and an install without the optional SDK packages, which must exit 2 with one line naming the variable and the
 * package rather than crash or trace nothing silently.
 */
const WITHOUT_SDK = fileURLToPath(new URL('../fixtures/without-otel-sdk.cjs', import.meta.url));

describe('tracing configuration', () => {
  it('is on only with an OTLP endpoint, and off again with OTEL_SDK_DISABLED or OTEL_TRACES_EXPORTER=none', () => {
    expect(tracingRequested({})).toBe(false);
    expect(tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: '' })).toBe(false);
    expect(tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' })).toBe(true);
    expect(tracingRequested({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://c:4318/v1/traces' })).toBe(true);
    expect(
      tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_SDK_DISABLED: 'true' }),
    ).toBe(false);
    expect(
      tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_TRACES_EXPORTER: 'none' }),
    ).toBe(false);
  });

  it('formats sampled span contexts only, and reads back only well-formed traceparents', () => {
    const sc = { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: 1 };
    const tp = traceparentOf(sc);
    expect(tp).toBe('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
    expect(spanContextOf(tp)).toEqual({ ...sc, isRemote: true });
    expect(trace.getSpanContext(contextOf(tp))?.spanId).toBe(sc.spanId);
    expect(traceparentOf({ ...sc, traceFlags: TraceFlags.NONE })).toBeUndefined();
    expect(traceparentOf({ ...sc, traceId: '0'.repeat(32) })).toBeUndefined();
    for (const bad of [
      '',
      '00-xyz',
      `01-${sc.traceId}-${sc.spanId}-01`,
      `00-${'0'.repeat(32)}-${sc.spanId}-01`,
    ])
      expect(spanContextOf(bad)).toBeUndefined();
    expect(trace.getSpanContext(contextOf('garbage'))).toBeUndefined();
  });

  it.each([['node'], ['worker']])(
    'io-session %s with the endpoint set but without the SDK packages exits 2 naming them',
    async (command) => {
      const result = await runCli([command], {
        REDIS_URL: SHARED_REDIS_URL,
        API_KEY: 'test-api-key-0123456789abcdef',
        RECEIPT_WEBHOOK_URL: 'http://127.0.0.1:9/receipts',
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318',
        NODE_OPTIONS: `--require ${WITHOUT_SDK}`,
      });
      expect(result.code, result.stderr).toBe(2);
      expect(result.stderr.trim().split('\n')).toEqual([
        expect.stringMatching(
          /^io-session: invalid configuration: OTEL_EXPORTER_OTLP_ENDPOINT is set \(tracing on\), but the optional package @opentelemetry\/sdk-trace-node is not installed \(npm install .*bullmq-otel\)$/,
        ),
      ]);
    },
  );
});
