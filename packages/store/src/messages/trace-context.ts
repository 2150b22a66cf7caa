/**
 * The trace context a stored message may carry (tracing is on): the W3C `traceparent` of the push that stored it,
 * kept between the message id and the data as `~<traceparent>` (lua/includes/pending.lua), so that the node that
 * delivers it, after any reconnect or on any node, continues the push's trace, and its receipt carries it on. A
 * message stored without tracing has no such part and costs nothing more.
 */

/** `00-<trace id>-<span id>-<flags>`: the only form stored (55 characters, lower-case hex). */
const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

/** Marks the trace part of a stored message; JSON text never starts with it. */
export const TRACE_MARK = '~';

/** Length of the trace part: the mark and a traceparent (the Lua scripts skip it by this length). */
export const TRACE_PART_LENGTH = 56;

export function isTraceparent(value: unknown): value is string {
  return typeof value === 'string' && value.length === 55 && TRACEPARENT.test(value);
}

/** The stored body of a message: its trace part (when it has a valid traceparent), then its data text. */
export function bodyOf(text: string, traceparent: string | undefined): string {
  return traceparent !== undefined && isTraceparent(traceparent)
    ? `${TRACE_MARK}${traceparent}${text}`
    : text;
}

/** A stored body as data text and the traceparent it carries, if any. */
export function splitBody(body: string): { text: string; traceparent?: string } {
  if (!body.startsWith(TRACE_MARK)) return { text: body };
  return { text: body.slice(TRACE_PART_LENGTH), traceparent: body.slice(1, TRACE_PART_LENGTH) };
}
