import { context, SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import type { Receipt } from '@io-session/store';
import { contextOf, TRACER_NAME } from './trace-context.js';

/**
 * Runs the handlers of a `receipts` job inside one `io-session.receipt` span per traced receipt, each a child of its
 * acknowledgement's span (the receipt's `traceparent`) and so in its push's trace, whichever receipt's trace the job
 * itself (bullmq-otel's `process receipts` span) was put in. Receipts without a traceparent add nothing.
 */
export async function withReceiptSpans<T>(receipts: readonly Receipt[], run: () => Promise<T>): Promise<T> {
  const tracer = trace.getTracer(TRACER_NAME);
  const job = trace.getSpan(context.active())?.spanContext();
  const spans: Span[] = [];
  for (const r of receipts) {
    if (r.traceparent === undefined) continue;
    const span = tracer.startSpan(
      'io-session.receipt',
      {
        kind: SpanKind.CONSUMER,
        attributes: { 'io_session.message.id': r.id, 'io_session.node.id': r.nodeId },
        ...(job ? { links: [{ context: job }] } : {}),
      },
      contextOf(r.traceparent),
    );
    spans.push(span);
  }
  try {
    return await run();
  } catch (err) {
    for (const span of spans) span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
    throw err;
  } finally {
    for (const span of spans) span.end();
  }
}
