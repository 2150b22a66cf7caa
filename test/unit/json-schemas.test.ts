/**
 * The JSON Schemas in schemas/ are generated from the zod schemas the code validates with (`npm run schemas`):
 * a checked-in file that differs from what the code generates fails here. They must also mean what zod means: a
 * JSON Schema validator (ajv, draft 2020-12) and zod agree on every sample below, valid or not.
 */
import { readdirSync, readFileSync } from 'node:fs';
import {
  jsonSchemas,
  jsonSchemaSources,
  pushJobOf,
  receiptsOf,
  eventOf,
  type PushJob,
  type ReceiptsJob,
  type SessionEventJob,
} from '@io-session/worker';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { Job } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/node-process.js';

const DIR = `${REPO_ROOT}schemas/`;
type File = keyof typeof jsonSchemaSources;

const receipt = {
  id: 'm1',
  token: 'u1',
  data: { n: 1 },
  deliveredAt: 1_700_000_000_000,
  nodeId: 'n',
  socketId: 's',
};
const started = { type: 'session.started', token: 'u1', sid: 'x1', id: 'sock', status: 1, at: 1 };
const long = (n: number): string => 'x'.repeat(n);

/** [what, data, valid?] per schema file. */
const SAMPLES: Record<File, [string, unknown, boolean][]> = {
  'push-job.schema.json': [
    ['one message', { token: 'u1', data: { text: 'hi' } }, true],
    ['one message with id and ttlMs', { token: 'u1', data: 1, id: 'order-1', ttlMs: 60_000 }, true],
    ['data null', { token: 'u1', data: null }, true],
    ['several tokens (§10)', { tokens: ['a', 'b'], data: 1, id: 'x' }, true],
    ['a group (§10)', { group: 'zone:5.drivers_A-1', data: 1 }, true],
    [
      'a batch',
      {
        messages: [
          { token: 'a', data: 1 },
          { token: 'b', data: 2, id: 'i' },
        ],
      },
      true,
    ],
    ['a broadcast', { broadcast: true, data: { maintenance: true } }, true],
    ['no data', { token: 'u1' }, false],
    ['an empty token', { token: '', data: 1 }, false],
    ['a 257-character token', { token: long(257), data: 1 }, false],
    ['a 129-character id', { token: 'u', data: 1, id: long(129) }, false],
    ['ttlMs 0', { token: 'u', data: 1, ttlMs: 0 }, false],
    ['ttlMs 1.5', { token: 'u', data: 1, ttlMs: 1.5 }, false],
    ['ttlMs over 30 days', { token: 'u', data: 1, ttlMs: 30 * 24 * 3600 * 1000 + 1 }, false],
    ['a misspelt field', { token: 'u', data: 1, ttl: 5 }, false],
    ['token and tokens', { token: 'u', tokens: ['a'], data: 1 }, false],
    ['tokens and group', { tokens: ['a'], group: 'g', data: 1 }, false],
    ['no tokens', { tokens: [], data: 1 }, false],
    ['1001 tokens', { tokens: Array.from({ length: 1001 }, (_, i) => `t${i}`), data: 1 }, false],
    ['1000 tokens', { tokens: Array.from({ length: 1000 }, (_, i) => `t${i}`), data: 1 }, true],
    ['a token twice', { tokens: ['a', 'b', 'a'], data: 1 }, false],
    ['a group name with a space', { group: 'zone 5', data: 1 }, false],
    ['a 129-character group name', { group: long(129), data: 1 }, false],
    ['an empty batch', { messages: [] }, false],
    ['a batch member with tokens', { messages: [{ tokens: ['a'], data: 1 }] }, false],
    ['broadcast: false', { broadcast: false, data: 1 }, false],
    ['a string', 'push', false],
    ['null', null, false],
  ],
  'receipts-job.schema.json': [
    ['one receipt', { receipts: [receipt] }, true],
    ['with a group (§10)', { receipts: [{ ...receipt, group: 'g1' }] }, true],
    ['with a field newer than the reader', { receipts: [{ ...receipt, traceId: 'abc' }] }, true],
    ['no receipts', { receipts: [] }, false],
    ['receipts not an array', { receipts: 'nope' }, false],
    ['no socketId', { receipts: [{ ...receipt, socketId: undefined }] }, false],
    ['deliveredAt a string', { receipts: [{ ...receipt, deliveredAt: 'now' }] }, false],
    ['an empty id', { receipts: [{ ...receipt, id: '' }] }, false],
  ],
  'session-event-job.schema.json': [
    ['started', started, true],
    ['ended by logout', { ...started, type: 'session.ended', status: 0, reason: 'logout' }, true],
    ['an unknown type', { ...started, type: 'session.paused' }, false],
    ['status 2', { ...started, status: 2 }, false],
    ['an unknown reason', { ...started, type: 'session.ended', status: 0, reason: 'bored' }, false],
    ['no sid', { ...started, sid: undefined }, false],
  ],
  'receipts-webhook.schema.json': [
    ['two receipts', [receipt, { ...receipt, id: 'm2', group: 'g' }], true],
    ['an empty array', [], false],
    ['an object', { receipts: [receipt] }, false],
  ],
  'session-events-webhook.schema.json': [
    ['two events', [started, { ...started, type: 'session.ended', status: 0, reason: 'grace' }], true],
    ['an event without a token', [{ ...started, token: undefined }], false],
  ],
};

/** JSON as it travels (undefined fields dropped), as both validators should see it. */
const wire = (data: unknown): unknown => JSON.parse(JSON.stringify(data)) as unknown;

describe('schemas/', () => {
  const generated = jsonSchemas();

  it('holds exactly the generated files (npm run schemas writes them)', () => {
    expect(readdirSync(DIR).sort()).toEqual(Object.keys(jsonSchemaSources).sort());
  });

  it.each(Object.keys(jsonSchemaSources))('%s is what the code generates (no drift)', (file) => {
    const checkedIn = JSON.parse(readFileSync(`${DIR}${file}`, 'utf8')) as unknown;
    expect(checkedIn, `schemas/${file} is stale: run npm run schemas`).toEqual(generated[file as File]);
  });

  describe.each(Object.keys(SAMPLES) as File[])('%s and zod agree', (file) => {
    const validate = new Ajv2020({ strict: true, allErrors: true }).compile(
      JSON.parse(readFileSync(`${DIR}${file}`, 'utf8')) as object,
    );
    it.each(SAMPLES[file])('%s', (_what, data, valid) => {
      expect(jsonSchemaSources[file].safeParse(wire(data)).success, 'zod').toBe(valid);
      expect(validate(wire(data)), `JSON Schema: ${JSON.stringify(validate.errors)}`).toBe(valid);
    });
  });
});

describe('the worker refuses malformed jobs, naming the field', () => {
  const job = <T>(data: unknown): Job<T> => ({ data }) as Job<T>;
  const refusal = (fn: () => unknown): string => {
    try {
      fn();
    } catch (err) {
      expect((err as Error).name).toBe('UnrecoverableError');
      return (err as Error).message;
    }
    throw new Error('accepted');
  };

  it('receipts', () => {
    expect(receiptsOf(job<ReceiptsJob>({ receipts: [receipt] }))).toEqual([receipt]);
    const extra = { ...receipt, traceId: 't' };
    expect(receiptsOf(job<ReceiptsJob>({ receipts: [extra] }))).toEqual([extra]); // newer fields reach handlers
    expect(refusal(() => receiptsOf(job({ receipts: [{ ...receipt, deliveredAt: 'now' }] })))).toMatch(
      /^malformed receipts job: receipts\.0\.deliveredAt: /,
    );
    expect(refusal(() => receiptsOf(job({ receipts: 'nope' })))).toMatch(/receipts: /);
    expect(refusal(() => receiptsOf(job(undefined)))).toMatch(/^malformed receipts job: /);
  });

  it('session events', () => {
    expect(eventOf(job<SessionEventJob>(started))).toEqual(started);
    expect(refusal(() => eventOf(job({ ...started, status: 3 })))).toMatch(/status: /);
    expect(refusal(() => eventOf(job({ ...started, type: 'x' })))).toMatch(/type: /);
  });

  it('push jobs, by the form their keys name', () => {
    const ok: PushJob = { tokens: ['a', 'b'], data: 1 };
    expect(pushJobOf(job<PushJob>(ok))).toEqual(ok);
    expect(refusal(() => pushJobOf(job({ tokens: ['a', 'a'], data: 1 })))).toMatch(
      /tokens: must not name a token twice/,
    );
    expect(refusal(() => pushJobOf(job({ group: 'a b', data: 1 })))).toMatch(/group: must be 1-128/);
    expect(refusal(() => pushJobOf(job({ messages: [{ token: '', data: 1 }] })))).toMatch(
      /messages\.0\.token: /,
    );
    expect(refusal(() => pushJobOf(job({ token: 'u', data: 1, ttl: 5 })))).toMatch(/ttl/);
    expect(refusal(() => pushJobOf(job({ token: 'u', tokens: ['a'], data: 1 })))).toMatch(/"token"/);
    expect(refusal(() => pushJobOf(job(null)))).toMatch(/^malformed push job: /);
  });
});
