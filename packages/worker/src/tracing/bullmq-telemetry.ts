import type { Context } from '@opentelemetry/api';
import type { Telemetry } from 'bullmq';
import { requireOptional } from './optional.js';
import { TRACER_NAME } from './trace-context.js';

let shared: Telemetry<Context> | undefined;

/**
 * BullMQ's documented telemetry (`bullmq-otel`), one instance per process: given as `telemetry` to the queues and
 * workers when tracing is on, it makes the producer span of each job add and the consumer span of each job run, and
 * carries the context in the job (`opts.telemetry.metadata`). Loaded on first use only.
 */
export function bullTelemetry(): Telemetry<Context> {
  if (!shared) {
    const { BullMQOtel } = requireOptional<typeof import('bullmq-otel')>('bullmq-otel');
    shared = new BullMQOtel({ tracerName: TRACER_NAME }) as Telemetry<Context>;
  }
  return shared;
}

/**
 * The `telemetry` option of a BullMQ queue or worker: bullmq-otel when tracing is on, else none (BullMQ then
 * traces nothing).
 */
export function telemetryOption(tracing: boolean): { telemetry?: Telemetry<Context> } {
  return tracing ? { telemetry: bullTelemetry() } : {};
}
