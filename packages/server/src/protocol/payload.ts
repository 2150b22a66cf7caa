import { MAX_DEPTH } from '../limits.js';

/**
 * The check every JSON value gets where it enters a node (HTTP body, in-process call, queue job, client
 * event): its size in bytes of JSON and its nesting depth. The encoders on a message's way (canonical JSON
 * for the store, socket.io-parser and JSON.stringify for the wire) recurse and overflow the stack a few
 * thousand levels down (see `MAX_DEPTH`); so depth is measured first, without recursion and without
 * serialising, and only a value known to be shallow is serialised to count its bytes.
 */

/** What is wrong with a value: too many bytes of JSON, nested too deep, or not JSON at all. */
export type PayloadProblem = 'too_large' | 'too_deep' | 'not_json';

export type PayloadCheck =
  { ok: true; bytes: number } | { ok: false; problem: PayloadProblem; message: string };

export interface PayloadLimits {
  /** Largest size accepted, in bytes of the value's JSON text. */
  maxBytes: number;
  /** Deepest nesting of arrays and objects accepted. Default `MAX_DEPTH`. */
  maxDepth?: number;
}

/**
 * Checks `value` against the limits; `field` names it in the message (`data`, `messages[3].data`).
 * Bounded work: the walk stops at the first violation, and it visits at most about `maxBytes` values
 * (each one is at least a byte of JSON), so a huge or cyclic value costs no more than an acceptable one.
 */
export function checkPayload(value: unknown, limits: PayloadLimits, field = 'data'): PayloadCheck {
  const maxDepth = limits.maxDepth ?? MAX_DEPTH;
  let walked: Walked;
  try {
    walked = walk(value, limits.maxBytes, maxDepth);
  } catch {
    walked = 'not_json'; // a getter or a proxy threw
  }
  if (walked === 'too_deep')
    return refuse('too_deep', `${field}: nested deeper than ${maxDepth} levels (or circular)`);
  if (walked === 'not_json')
    return refuse('not_json', `${field}: not JSON (a BigInt, or a toJSON that threw)`);
  if (walked === 'too_large') return tooLarge(field, limits.maxBytes);
  let bytes: number;
  try {
    const text = JSON.stringify(value) as string | undefined;
    bytes = text === undefined ? 0 : Buffer.byteLength(text);
  } catch {
    return refuse('not_json', `${field}: not JSON (a getter or toJSON threw)`);
  }
  return bytes > limits.maxBytes ? tooLarge(field, limits.maxBytes) : { ok: true, bytes };
}

/** Checks a payload that came as JSON text (legacy clients send strings): its bytes, then what it parses to. */
export function checkJsonText(
  text: string,
  limits: PayloadLimits,
  field: string,
): { ok: true; value: unknown } | { ok: false; problem: PayloadProblem | 'invalid_json'; message: string } {
  if (Buffer.byteLength(text) > limits.maxBytes) return tooLarge(field, limits.maxBytes);
  let value: unknown;
  try {
    // V8's JSON.parse does not recurse: any depth parses, and the walk below measures it.
    value = JSON.parse(text) as unknown;
  } catch {
    return { ok: false, problem: 'invalid_json', message: `${field}: not valid JSON` };
  }
  const checked = checkPayload(value, limits, field);
  return checked.ok ? { ok: true, value } : checked;
}

function refuse(problem: PayloadProblem, message: string): PayloadCheck & { ok: false } {
  return { ok: false, problem, message };
}

function tooLarge(field: string, maxBytes: number): PayloadCheck & { ok: false } {
  return refuse('too_large', `${field}: larger than ${maxBytes} bytes of JSON`);
}

type Walked = 'ok' | PayloadProblem;

/**
 * Depth-first over the value with an explicit stack, adding up a lower bound of its JSON size (a string is at
 * least its length plus quotes, any other value at least one byte, a member at least its key plus `"":,`;
 * members that JSON drops, such as `undefined` ones, count as if they were there).
 */
function walk(root: unknown, maxBytes: number, maxDepth: number): Walked {
  const stack: { value: unknown; depth: number; key: string }[] = [{ value: root, depth: 0, key: '' }];
  let bytes = 0;
  for (let item = stack.pop(); item; item = stack.pop()) {
    const { depth } = item;
    let value = item.value;
    if (typeof value === 'object' && value !== null && typeof (value as Jsonable).toJSON === 'function') {
      try {
        value = (value as Jsonable).toJSON(item.key);
      } catch {
        return 'not_json';
      }
    }
    if (typeof value === 'bigint') return 'not_json';
    bytes += typeof value === 'string' ? value.length + 2 : 1;
    if (typeof value === 'object' && value !== null) {
      if (depth >= maxDepth) return 'too_deep';
      if (Array.isArray(value)) {
        bytes += value.length;
        if (bytes > maxBytes) return 'too_large';
        for (let i = value.length - 1; i >= 0; i--)
          stack.push({ value: value[i] as unknown, depth: depth + 1, key: String(i) });
      } else {
        const keys = Object.keys(value);
        for (const key of keys) {
          bytes += key.length + 4;
          if (bytes > maxBytes) return 'too_large';
          stack.push({ value: (value as Record<string, unknown>)[key], depth: depth + 1, key });
        }
      }
    }
    if (bytes > maxBytes) return 'too_large';
  }
  return 'ok';
}

interface Jsonable {
  toJSON(key: string): unknown;
}
