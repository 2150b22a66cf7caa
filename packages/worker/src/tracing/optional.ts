import { createRequire } from 'node:module';
import { ConfigError } from '../env.js';

/** The optional packages tracing needs (`optionalDependencies` of @io-session/worker). */
export const TRACING_PACKAGES = [
  '@opentelemetry/sdk-trace-node',
  '@opentelemetry/exporter-trace-otlp-http',
  '@opentelemetry/resources',
  'bullmq-otel',
] as const;

const require = createRequire(import.meta.url);

/** Whether `err` says that the package `name` itself is not installed (not a module it loads in turn). */
function isMissing(err: unknown, name: string): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code !== 'MODULE_NOT_FOUND' && code !== 'ERR_MODULE_NOT_FOUND') return false;
  return (err as Error).message.includes(`'${name}'`);
}

function missing(name: string): ConfigError {
  return new ConfigError(
    'OTEL_EXPORTER_OTLP_ENDPOINT',
    `is set (tracing on), but the optional package ${name} is not installed (npm install ${TRACING_PACKAGES.join(' ')})`,
  );
}

/**
 * Loads an optional tracing package, synchronously (BullMQ takes its telemetry when a queue is made). Only called
 * when tracing is on: the default path never loads any of them. @throws ConfigError when it is not installed
 */
export function requireOptional<T>(name: (typeof TRACING_PACKAGES)[number]): T {
  try {
    return require(name) as T;
  } catch (err) {
    if (isMissing(err, name)) throw missing(name);
    throw err;
  }
}
