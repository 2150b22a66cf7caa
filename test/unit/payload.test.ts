import { checkPayload, MAX_BATCH, MAX_DEPTH } from '@io-session/server';
import canonicalStringify from 'safe-stable-stringify';
import { Encoder } from 'socket.io-parser';
import { describe, expect, it } from 'vitest';
import { jobWork } from '../../packages/server/src/delivery/push-consumer.js';
import { checkPush, PushRejectedError } from '../../packages/server/src/delivery/push-input.js';
import { checkJsonText } from '../../packages/server/src/protocol/payload.js';

const limits = { maxBytes: 1024 };

function nestedArrays(depth: number): unknown {
  let value: unknown = 0;
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

function nestedObjects(depth: number): unknown {
  let value: unknown = 0;
  for (let i = 0; i < depth; i++) value = { a: value };
  return value;
}

describe('checkPayload', () => {
  it('accepts MAX_DEPTH levels and refuses one more, for arrays and objects', () => {
    expect(MAX_DEPTH).toBe(64);
    for (const make of [nestedArrays, nestedObjects]) {
      expect(checkPayload(make(MAX_DEPTH), limits)).toMatchObject({ ok: true });
      expect(checkPayload(make(MAX_DEPTH + 1), limits)).toEqual({
        ok: false,
        problem: 'too_deep',
        message: 'data: nested deeper than 64 levels (or circular)',
      });
    }
    expect(checkPayload(nestedArrays(3), { maxBytes: 1024, maxDepth: 2 })).toMatchObject({
      ok: false,
      problem: 'too_deep',
    });
  });

  it('refuses what crashed the encoders (a few thousand levels in under 9 KB) without calling them', () => {
    const poison = nestedArrays(4125);
    expect(() => canonicalStringify(nestedArrays(200_000))).toThrow(RangeError);
    expect(checkPayload(poison, { maxBytes: 65_536 })).toMatchObject({ ok: false, problem: 'too_deep' });
    // 10,000 levels of a JSON string (a legacy client_data): parsed without recursion, refused for depth
    const text = JSON.stringify({ token: 't', data: '' }).replace(
      '""',
      `${'['.repeat(10_000)}${']'.repeat(10_000)}`,
    );
    expect(checkJsonText(text, { maxBytes: 65_536 }, 'payload')).toMatchObject({
      ok: false,
      problem: 'too_deep',
    });
  });

  it('measures bytes of JSON exactly: the limit is accepted, one byte more is refused', () => {
    const exact = 'z'.repeat(1022); // its JSON adds two quotes
    expect(checkPayload(exact, limits)).toEqual({ ok: true, bytes: 1024 });
    expect(checkPayload(`${exact}z`, limits)).toEqual({
      ok: false,
      problem: 'too_large',
      message: 'data: larger than 1024 bytes of JSON',
    });
    // multi-byte characters count in bytes; escapes count as JSON writes them
    expect(checkPayload('é'.repeat(511), limits)).toEqual({ ok: true, bytes: 1024 });
    expect(checkPayload('é'.repeat(512), limits)).toMatchObject({ ok: false, problem: 'too_large' });
    expect(checkPayload('\n'.repeat(511), limits)).toEqual({ ok: true, bytes: 1024 });
    expect(checkPayload({ a: [1, 'two', null, true] }, limits)).toEqual({
      ok: true,
      bytes: Buffer.byteLength(JSON.stringify({ a: [1, 'two', null, true] })),
    });
    expect(checkPayload(undefined, limits)).toEqual({ ok: true, bytes: 0 });
  });

  it('stops at once on huge values: a 10 MB string, a 10-million element array, 100,000 keys, a cycle', () => {
    // Counts the members the walk reads: its work, independent of the machine's load.
    let reads = 0;
    const counted = <T extends object>(target: T): T =>
      new Proxy(target, {
        get(t, key, receiver) {
          reads += 1;
          return Reflect.get(t, key, receiver) as unknown;
        },
      });
    const cyclic: Record<string, unknown> = counted({ name: 'loop' });
    cyclic.self = cyclic;
    const values: [unknown, string, number][] = [
      ['x'.repeat(10_000_000), 'too_large', 0],
      [counted(new Array(10_000_000).fill(0)), 'too_large', 10],
      [
        counted(Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [`k${i}`, i]))),
        'too_large',
        10_000,
      ],
      [cyclic, 'too_deep', 1000],
    ];
    for (const [value, problem, most] of values) {
      reads = 0;
      expect(checkPayload(value, { maxBytes: 65_536 })).toMatchObject({ ok: false, problem });
      expect(reads).toBeLessThanOrEqual(most);
    }
  });

  it('refuses what is not JSON and follows toJSON as JSON.stringify does', () => {
    expect(checkPayload({ n: 10n }, limits)).toMatchObject({ ok: false, problem: 'not_json' });
    const throwing = {
      toJSON: (): never => {
        throw new Error('no');
      },
    };
    expect(checkPayload(throwing, limits)).toMatchObject({ ok: false, problem: 'not_json' });
    const getter = Object.defineProperty({}, 'boom', {
      enumerable: true,
      get: (): never => {
        throw new Error('no');
      },
    });
    expect(checkPayload(getter, limits)).toMatchObject({ ok: false, problem: 'not_json' });
    const date = new Date(0);
    expect(checkPayload({ date }, limits)).toEqual({ ok: true, bytes: JSON.stringify({ date }).length });
    // a toJSON that returns something deep is measured as what JSON would write
    expect(checkPayload({ toJSON: () => nestedArrays(100) }, limits)).toMatchObject({ problem: 'too_deep' });
  });

  it('names the field', () => {
    expect(checkPayload('x'.repeat(2000), limits, 'messages[3].data')).toMatchObject({
      message: 'messages[3].data: larger than 1024 bytes of JSON',
    });
  });

  it('leaves enough room: what it accepts, every encoder on the way can encode', () => {
    const deepest = { id: 'm', data: nestedObjects(MAX_DEPTH), ts: 1 };
    expect(() => canonicalStringify(deepest)).not.toThrow();
    expect(() => new Encoder().encode({ type: 2, nsp: '/', data: ['push_message', deepest] })).not.toThrow();
  });
});

describe('checkPush', () => {
  it('names the bad field of a push and returns only the known fields', () => {
    expect(checkPush({ token: 't', data: 1, extra: true }, limits)).toEqual({ token: 't', data: 1 });
    const refusal = (value: unknown, at?: string): PushRejectedError => {
      try {
        checkPush(value, limits, at);
      } catch (err) {
        if (err instanceof PushRejectedError) return err;
        throw err;
      }
      throw new Error('not refused');
    };
    expect(refusal({ data: 1 })).toMatchObject({ reason: 'invalid', field: 'token' });
    expect(refusal({ token: 't', data: 1, ttlMs: 1e300 })).toMatchObject({
      reason: 'invalid',
      field: 'ttlMs',
    });
    expect(refusal({ token: 't', data: 1, ttlMs: 0 })).toMatchObject({ field: 'ttlMs' });
    expect(refusal({ token: 't', data: 1, id: '' })).toMatchObject({ field: 'id' });
    expect(refusal({ token: 't', data: nestedArrays(65) })).toMatchObject({
      reason: 'too_deep',
      field: 'data',
    });
    expect(refusal({ token: 't', data: 'x'.repeat(2000) }, 'messages[7]')).toMatchObject({
      reason: 'too_large',
      field: 'messages[7].data',
      message: 'messages[7].data: larger than 1024 bytes of JSON',
    });
    expect(refusal('hello')).toMatchObject({ reason: 'invalid', field: 'message' });
  });
});

describe('jobWork (push queue jobs)', () => {
  const refused = (data: unknown): string => {
    try {
      jobWork(data, limits);
    } catch (err) {
      expect((err as Error).name).toBe('UnrecoverableError');
      return (err as Error).message;
    }
    throw new Error('not refused');
  };

  it('refuses job data that is not an object, naming it', () => {
    expect(refused('hello')).toMatch(/^job data: must be .* got a string$/);
    expect(refused(42)).toMatch(/got a number$/);
    expect(refused(null)).toMatch(/got null$/);
    expect(refused([1, 2])).toMatch(/got an array$/);
  });

  it('refuses a batch over MAX_BATCH whole, and names the bad member of a batch', () => {
    const message = { token: 't', data: 1 };
    expect(jobWork({ messages: Array(MAX_BATCH).fill(message) }, limits)).toMatchObject({ kind: 'push' });
    expect(refused({ messages: Array(20_000).fill(message) })).toBe(
      'messages: at most 1000 messages per job (MAX_BATCH), got 20000',
    );
    expect(refused({ messages: 'all of them' })).toMatch(/^messages: must be an array/);
    expect(refused({ messages: [message, { token: 't', data: nestedArrays(4125) }] })).toMatch(
      /^messages\[1\]\.data: nested deeper than 64 levels/,
    );
    expect(refused({ messages: [message, { token: 't', data: 1, ttlMs: 1e300 }] })).toMatch(
      /^messages\[1\]\.ttlMs:/,
    );
  });

  it('checks single pushes and broadcasts the same way', () => {
    expect(jobWork({ token: 't', data: { a: 1 }, id: 'x' }, limits)).toEqual({
      kind: 'push',
      messages: [{ token: 't', data: { a: 1 }, id: 'x' }],
    });
    expect(refused({ token: 't', data: 'x'.repeat(2000) })).toBe('data: larger than 1024 bytes of JSON');
    expect(jobWork({ broadcast: true, data: 'hi' }, limits)).toEqual({ kind: 'broadcast', data: 'hi' });
    expect(refused({ broadcast: true, data: 'x'.repeat(2000) })).toBe('data: larger than 1024 bytes of JSON');
    expect(refused({ broadcast: true, data: nestedObjects(100) })).toMatch(/^data: nested deeper/);
  });
});
