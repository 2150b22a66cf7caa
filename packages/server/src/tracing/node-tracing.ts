import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context, type Span } from '@opentelemetry/api';
import type { AckResult, PushResult, Receipt } from '@io-session/store';
import { bullTelemetry, contextOf, linksOf, traceparentOf, TRACER_NAME } from '@io-session/worker';
import type { Telemetry } from 'bullmq';
import type { Sized } from '../protocol/sender.js';

/** A span still open, and the traceparent it hands on (none when it is not sampled). */
export interface OpenSpan {
  traceparent: string | undefined;
  /** Ends the span when `work` settles (its result or error recorded), and hands `work` back. */
  around<T>(work: Promise<T>): Promise<T>;
}

const ATTR = {
  messageId: 'io_session.message.id',
  messages: 'io_session.messages',
  seq: 'io_session.message.seq',
  socket: 'io_session.socket.id',
  protocol: 'io_session.protocol',
  node: 'io_session.node.id',
} as const;

function failed(span: Span, err: unknown): void {
  span.recordException(err as Error);
  span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
}

/** Counts of push results by kind: stored, duplicate, or the refusal. */
function pushOutcome(results: readonly PushResult[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of results) {
    const kind = `io_session.push.${r.stored ? (r.duplicate ? 'duplicate' : 'stored') : r.reason}`;
    counts[kind] = (counts[kind] ?? 0) + 1;
  }
  return counts;
}

/**
 * A node's spans, made only when tracing is on (README: Tracing); when it is off the node holds none of this and
 * its push and acknowledgement paths pay one check per message. The trace of a push crosses Redis as the W3C
 * traceparent stored with the message (store/src/messages/trace-context.ts) and carried by each receipt, and
 * crosses BullMQ as bullmq-otel's job metadata.
 *
 * Spans: `io-session.push` (store and route, child of the request or job), `io-session.deliver` (each send to a
 * connection, on the node holding it, child of the push), `io-session.ack` (the settling of each acknowledged
 * message, child of the push), `io-session.relay` (the receipts job, child of its first receipt's ack, linked to
 * the others), then the worker's.
 */
export class NodeTracing {
  readonly #tracer = trace.getTracer(TRACER_NAME);
  /** bullmq-otel, for the node's push consumer: its `process push` span is the parent of `io-session.push`. */
  readonly telemetry: Telemetry<Context> = bullTelemetry();

  constructor(private readonly nodeId: string) {}

  /** Opens the `io-session.push` span of a store call (in the active context: the request's or the job's). */
  push(count: number): OpenSpan {
    const span = this.#tracer.startSpan('io-session.push', {
      kind: SpanKind.PRODUCER,
      attributes: { [ATTR.messages]: count, [ATTR.node]: this.nodeId },
    });
    return {
      traceparent: traceparentOf(span.spanContext()),
      around: async <T>(work: Promise<T>) => {
        try {
          const results = await work;
          if (Array.isArray(results)) span.setAttributes(pushOutcome(results as PushResult[]));
          return results;
        } catch (err) {
          failed(span, err);
          throw err;
        } finally {
          span.end();
        }
      },
    };
  }

  /** A traced message went out on a connection: an `io-session.deliver` span in its push's trace. */
  sent(d: Sized, socketId: string, protocol: number): void {
    this.#tracer
      .startSpan(
        'io-session.deliver',
        {
          kind: SpanKind.PRODUCER,
          attributes: {
            [ATTR.messageId]: d.id,
            [ATTR.seq]: d.seq,
            [ATTR.socket]: socketId,
            [ATTR.protocol]: protocol,
            [ATTR.node]: this.nodeId,
          },
        },
        contextOf(d.traceparent),
      )
      .end();
  }

  /**
   * Opens an `io-session.ack` span per traced delivery a client acknowledged, in its push's trace: each receipt
   * carries its span's traceparent on. @returns the traceparents in the order of `deliveries`, and `around`.
   */
  acks(
    deliveries: readonly Sized[],
    socketId: string,
  ): { traceparents: (string | undefined)[]; around(work: Promise<AckResult[]>): Promise<AckResult[]> } {
    const spans: (Span | undefined)[] = deliveries.map((d) =>
      d.traceparent === undefined
        ? undefined
        : this.#tracer.startSpan(
            'io-session.ack',
            {
              kind: SpanKind.CONSUMER,
              attributes: { [ATTR.messageId]: d.id, [ATTR.socket]: socketId, [ATTR.node]: this.nodeId },
            },
            contextOf(d.traceparent),
          ),
    );
    return {
      traceparents: spans.map((s) => (s ? traceparentOf(s.spanContext()) : undefined)),
      around: async (work) => {
        try {
          const results = await work;
          results.forEach((r, i) => spans[i]?.setAttribute('io_session.ack.result', ackOutcome(r)));
          return results;
        } catch (err) {
          for (const s of spans) if (s) failed(s, err);
          throw err;
        } finally {
          for (const s of spans) s?.end();
        }
      },
    };
  }

  /**
   * The telemetry of a `receipts` job whose receipts are traced: an `io-session.relay` span (child of the first
   * traced receipt's acknowledgement, linked to the others), whose context bullmq-otel carries in the job to the
   * worker's `process receipts` span. None when no receipt is traced.
   */
  receiptsJob(receipts: readonly Receipt[]): { metadata: string } | undefined {
    const first = receipts.find((r) => r.traceparent !== undefined);
    if (!first) return undefined;
    const others = receipts.filter((r) => r !== first).map((r) => r.traceparent);
    const span = this.#tracer.startSpan(
      'io-session.relay',
      {
        kind: SpanKind.PRODUCER,
        attributes: { 'io_session.receipts': receipts.length, [ATTR.node]: this.nodeId },
        links: linksOf(others),
      },
      contextOf(first.traceparent),
    );
    span.end();
    return { metadata: this.telemetry.contextManager.getMetadata(trace.setSpan(ROOT_CONTEXT, span)) };
  }
}

function ackOutcome(r: AckResult): string {
  if (r.settled) return r.duplicate ? 'duplicate' : 'settled';
  return String(r.code);
}
