import { context, propagation, SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import { TRACER_NAME } from '@io-session/worker';
import type { FastifyInstance, FastifyRequest } from 'fastify';

const open = new WeakMap<FastifyRequest, Span>();

/**
 * With tracing on, each `/v1` request runs in a SERVER span (`POST /v1/push`, …), the child of the caller's trace
 * when the request carries a W3C `traceparent` header; what the handler does — the push's `io-session.push` span —
 * is its child. Made once the request is authorized and its body parsed (`preHandler`), ended with the response.
 */
export function registerRequestSpans(app: FastifyInstance): void {
  const tracer = trace.getTracer(TRACER_NAME);
  app.addHook('preHandler', (req, _reply, done) => {
    const parent = propagation.extract(context.active(), req.headers);
    const route = `${req.routeOptions.url ?? req.url}`;
    const span = tracer.startSpan(
      `${req.method} ${route}`,
      { kind: SpanKind.SERVER, attributes: { 'http.request.method': req.method, 'http.route': route } },
      parent,
    );
    open.set(req, span);
    context.with(trace.setSpan(parent, span), done);
  });
  app.addHook('onResponse', (req, reply, done) => {
    const span = open.get(req);
    if (span) {
      open.delete(req);
      span.setAttribute('http.response.status_code', reply.statusCode);
      if (reply.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    }
    done();
  });
}
