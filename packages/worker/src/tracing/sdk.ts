import { ConfigError } from '../env.js';
import { requireOptional } from './optional.js';
import { tracingRequested } from './trace-context.js';

type SdkTraceNode = typeof import('@opentelemetry/sdk-trace-node');
type OtlpHttp = typeof import('@opentelemetry/exporter-trace-otlp-http');
type Resources = typeof import('@opentelemetry/resources');

let provider: { shutdown(): Promise<void>; forceFlush(): Promise<void> } | undefined;

/**
 * Starts the OpenTelemetry SDK of an io-session process (`io-session node`, `io-session worker`) when the
 * environment asks for tracing (`tracingRequested`): a Node tracer provider, registered globally (W3C trace context
 * propagation, async-hooks context), whose spans a batch processor sends with OTLP over HTTP. Everything else is the
 * standard `OTEL_*` configuration the SDK reads itself: the endpoint and headers, `OTEL_SERVICE_NAME` and
 * `OTEL_RESOURCE_ATTRIBUTES` (over the default service name given here), `OTEL_TRACES_SAMPLER` and its argument,
 * `OTEL_BSP_*`. @returns whether tracing is on. @throws ConfigError when the optional packages are missing
 */
export function startTracing(serviceName: string, env: NodeJS.ProcessEnv = process.env): boolean {
  if (!tracingRequested(env)) return false;
  if (provider) return true;
  const { NodeTracerProvider, BatchSpanProcessor } = requireOptional<SdkTraceNode>(
    '@opentelemetry/sdk-trace-node',
  );
  const { OTLPTraceExporter } = requireOptional<OtlpHttp>('@opentelemetry/exporter-trace-otlp-http');
  const { defaultResource, detectResources, envDetector, resourceFromAttributes } =
    requireOptional<Resources>('@opentelemetry/resources');
  const resource = defaultResource()
    .merge(resourceFromAttributes({ 'service.name': serviceName }))
    .merge(detectResources({ detectors: [envDetector] }));
  let exporter: InstanceType<OtlpHttp['OTLPTraceExporter']>;
  try {
    exporter = new OTLPTraceExporter();
  } catch {
    throw new ConfigError('OTEL_EXPORTER_OTLP_ENDPOINT', 'is not an endpoint the OTLP/HTTP exporter can use');
  }
  const tracer = new NodeTracerProvider({ resource, spanProcessors: [new BatchSpanProcessor(exporter)] });
  tracer.register();
  provider = tracer;
  return true;
}

/** Sends the spans not sent yet and stops the SDK (a process that stops); nothing when tracing is off. */
export async function stopTracing(): Promise<void> {
  const p = provider;
  provider = undefined;
  await p?.shutdown().catch(() => undefined);
}

/** {@link startTracing} for a command: a configuration error is one line on stderr and exit 2. */
export function startTracingOrExit(serviceName: string, env: NodeJS.ProcessEnv = process.env): boolean {
  try {
    return startTracing(serviceName, env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`io-session: invalid configuration: ${err.message}\n`);
    process.exit(2);
  }
}
