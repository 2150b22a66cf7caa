import {
  ROOT_CONTEXT,
  trace,
  TraceFlags,
  type Context,
  type Link,
  type SpanContext,
} from '@opentelemetry/api';

/** The instrumentation scope of every span io-session makes itself (BullMQ's queue spans come from bullmq-otel). */
export const TRACER_NAME = 'io-session';

/**
 * Whether tracing is asked for by the environment: the standard `OTEL_EXPORTER_OTLP_ENDPOINT` (or
 * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set, and neither `OTEL_SDK_DISABLED=true` nor `OTEL_TRACES_EXPORTER=none`
 * turns it off.
 */
export function tracingRequested(env: NodeJS.ProcessEnv = process.env): boolean {
  const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (!endpoint) return false;
  return (
    env.OTEL_SDK_DISABLED?.trim().toLowerCase() !== 'true' && env.OTEL_TRACES_EXPORTER?.trim() !== 'none'
  );
}

/**
 * The W3C traceparent of a sampled span context (what a stored message and a receipt carry across Redis); none
 * for an invalid or unsampled one, so that nothing is stored for a push that is not traced.
 */
export function traceparentOf(sc: SpanContext | undefined): string | undefined {
  if (!sc || !trace.isSpanContextValid(sc) || (sc.traceFlags & TraceFlags.SAMPLED) === 0) return undefined;
  const flags = (sc.traceFlags & 0xff).toString(16).padStart(2, '0');
  return `00-${sc.traceId}-${sc.spanId}-${flags}`;
}

/** The remote span context a traceparent names, or undefined when it is not one. */
export function spanContextOf(traceparent: string | undefined): SpanContext | undefined {
  if (traceparent === undefined) return undefined;
  const match = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/.exec(traceparent);
  if (!match) return undefined;
  const sc: SpanContext = {
    traceId: match[1] as string,
    spanId: match[2] as string,
    traceFlags: Number.parseInt(match[3] as string, 16),
    isRemote: true,
  };
  return trace.isSpanContextValid(sc) ? sc : undefined;
}

/** A context whose parent is the span a traceparent names (the root context when there is none). */
export function contextOf(traceparent: string | undefined, base: Context = ROOT_CONTEXT): Context {
  const sc = spanContextOf(traceparent);
  return sc ? trace.setSpanContext(base, sc) : base;
}

/** Links to the spans the traceparents name (a batch that serves several traces). */
export function linksOf(traceparents: readonly (string | undefined)[]): Link[] {
  const links: Link[] = [];
  for (const tp of traceparents) {
    const context = spanContextOf(tp);
    if (context) links.push({ context });
  }
  return links;
}
