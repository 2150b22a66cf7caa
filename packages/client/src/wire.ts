/** Protocol versions the SDK speaks: 2 (one `push_message` per push) and 3 (`push_batch` frames). */
export type ProtocolVersion = 2 | 3;

/** The server → client event that carries pushes, by protocol version (CONTRACT §4, protocol-v3). */
export const PUSH_EVENT = { 2: 'push_message', 3: 'push_batch' } as const;

/** A push as it comes over the wire: a v2 `push_message` payload, or one element of a v3 `push_batch`. */
export interface Envelope {
  id: string;
  data: unknown;
  ts: number;
}

/** A v3 frame as the client understood it: its envelopes in order, and how many elements were not one. */
export interface Frame {
  messages: Envelope[];
  malformed: number;
}

/** The acknowledgement callback Socket.IO hands to an event listener. */
export type AckCallback = (...args: unknown[]) => void;

/** The envelope in an untrusted payload, or undefined when it is not one. */
export function envelopeOf(payload: unknown): Envelope | undefined {
  if (typeof payload !== 'object' || payload === null) return undefined;
  const { id, data, ts } = payload as Record<string, unknown>;
  if (typeof id !== 'string' || id === '') return undefined;
  return { id, data, ts: typeof ts === 'number' ? ts : Date.now() };
}

/** The envelopes of an untrusted `push_batch` payload (anything but an array is one malformed element). */
export function frameOf(payload: unknown): Frame {
  if (!Array.isArray(payload)) return { messages: [], malformed: 1 };
  const frame: Frame = { messages: [], malformed: 0 };
  for (const item of payload as unknown[]) {
    const message = envelopeOf(item);
    if (message) frame.messages.push(message);
    else frame.malformed += 1;
  }
  return frame;
}
