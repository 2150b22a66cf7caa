/**
 * Signed webhooks (CONTRACT.md §11): `verifyWebhook` accepts exactly a body signed with the secret within the
 * tolerance, and the README's Python and shell snippets compute the same signatures (run when python3 / openssl
 * are on the machine).
 */
import { spawnSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  signWebhook,
  verifyWebhook,
  WEBHOOK_SIGNATURE_HEADER,
  WEBHOOK_TIMESTAMP_HEADER,
  type WebhookHeaders,
} from '@io-session/worker';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/node-process.js';

const SECRET = 'test-webhook-secret-0123456789abcdef';
const NOW = 1_767_225_600_000;
const BODY = JSON.stringify([{ id: 'm1', token: 'user-42', data: { text: 'héllo ✓' }, deliveredAt: NOW }]);

/** The signature computed independently of the code under test. */
const reference = (secret: string, ts: number | string, body: string | Buffer): string =>
  `v1=${createHmac('sha256', secret)
    .update(Buffer.concat([Buffer.from(`${ts}.`), Buffer.from(body)]))
    .digest('hex')}`;

const signed = (timestamp = NOW, body: string | Buffer = BODY): Record<string, string> =>
  signWebhook({ secret: SECRET, body, timestamp });

const verify = (
  headers: unknown,
  input: { body?: unknown; secret?: unknown; now?: number; toleranceMs?: number } = {},
) =>
  verifyWebhook({
    secret: ('secret' in input ? input.secret : SECRET) as string,
    body: ('body' in input ? input.body : BODY) as string,
    headers: headers as WebhookHeaders,
    now: input.now ?? NOW,
    ...(input.toleranceMs !== undefined ? { toleranceMs: input.toleranceMs } : {}),
  });

describe('signWebhook', () => {
  it('signs "<timestamp>.<raw body>" with HMAC-SHA256, hex, after v1=', () => {
    expect(signed()).toEqual({
      [WEBHOOK_TIMESTAMP_HEADER]: String(NOW),
      [WEBHOOK_SIGNATURE_HEADER]: reference(SECRET, NOW, BODY),
    });
    expect(signed()[WEBHOOK_SIGNATURE_HEADER]).toMatch(/^v1=[0-9a-f]{64}$/);
    expect(WEBHOOK_TIMESTAMP_HEADER).toBe('x-io-session-timestamp');
    expect(WEBHOOK_SIGNATURE_HEADER).toBe('x-io-session-signature');
  });

  it('timestamps with the clock by default', () => {
    const before = Date.now();
    const ts = Number(signWebhook({ secret: SECRET, body: BODY })[WEBHOOK_TIMESTAMP_HEADER]);
    expect(ts).toBeGreaterThanOrEqual(before);
    expect(ts).toBeLessThanOrEqual(Date.now());
  });
});

describe('verifyWebhook', () => {
  it('accepts the body it was signed for, as a string, a Buffer or a Uint8Array', () => {
    expect(verify(signed())).toBe(true);
    expect(verify(signed(), { body: Buffer.from(BODY) })).toBe(true);
    expect(verify(signed(), { body: new Uint8Array(Buffer.from(BODY)) })).toBe(true);
    expect(verify(signed(NOW, Buffer.from(BODY)))).toBe(true);
  });

  it('uses the clock and the 5-minute tolerance by default', () => {
    const fresh = signWebhook({ secret: SECRET, body: BODY });
    expect(verifyWebhook({ secret: SECRET, body: BODY, headers: fresh })).toBe(true);
    const old = signWebhook({ secret: SECRET, body: BODY, timestamp: Date.now() - 300_000 - 5_000 });
    expect(verifyWebhook({ secret: SECRET, body: BODY, headers: old })).toBe(false);
  });

  it('accepts headers in any letter case, from a plain object, Node req.headers or a Headers instance', () => {
    const h = signed();
    const ts = h[WEBHOOK_TIMESTAMP_HEADER]!;
    const sig = h[WEBHOOK_SIGNATURE_HEADER]!;
    expect(verify({ 'X-Io-Session-Timestamp': ts, 'X-IO-SESSION-SIGNATURE': sig })).toBe(true);
    expect(verify({ 'x-io-session-timestamp': [ts], 'x-io-session-signature': sig, host: 'a' })).toBe(true);
    expect(verify(new Headers({ 'X-IO-Session-Timestamp': ts, 'x-io-session-signature': sig }))).toBe(true);
    expect(verify({ [WEBHOOK_TIMESTAMP_HEADER]: NOW, [WEBHOOK_SIGNATURE_HEADER]: sig })).toBe(true);
    expect(
      verify({
        [WEBHOOK_TIMESTAMP_HEADER]: ts,
        [WEBHOOK_SIGNATURE_HEADER]: sig.toUpperCase().replace('V1', 'v1'),
      }),
    ).toBe(true);
  });

  it('accepts timestamps within the tolerance both ways, refuses stale and future ones', () => {
    for (const skew of [-300_000, -1, 0, 1, 300_000])
      expect(verify(signed(NOW + skew)), `${skew}`).toBe(true);
    expect(verify(signed(NOW - 300_001))).toBe(false); // stale: a replay
    expect(verify(signed(NOW + 300_001))).toBe(false); // from the future
    expect(verify(signed(NOW - 10_000), { toleranceMs: 5_000 })).toBe(false);
    expect(verify(signed(NOW - 10_000), { toleranceMs: 20_000 })).toBe(true);
    expect(verify(signed(NOW), { toleranceMs: 0 })).toBe(true);
  });

  it('refuses a forged signature, a wrong secret, another body or a body changed by one byte', () => {
    const h = signed();
    expect(verify({ ...h, [WEBHOOK_SIGNATURE_HEADER]: `v1=${'0'.repeat(64)}` })).toBe(false);
    expect(
      verify({
        ...h,
        [WEBHOOK_SIGNATURE_HEADER]: reference('another-secret-0123456789abcdefghij', NOW, BODY),
      }),
    ).toBe(false);
    expect(verify(h, { secret: 'another-secret-0123456789abcdefghij' })).toBe(false);
    expect(verify(h, { body: BODY.replace('m1', 'm2') })).toBe(false);
    const flipped = Buffer.from(BODY);
    flipped[flipped.length - 1]! ^= 1;
    expect(verify(h, { body: flipped })).toBe(false);
    expect(verify(h, { body: `${BODY} ` })).toBe(false);
    expect(verify(h, { body: JSON.stringify(JSON.parse(BODY), null, 1) })).toBe(false); // re-serialised JSON
    // The timestamp is signed too: moving it invalidates the signature.
    expect(verify({ ...h, [WEBHOOK_TIMESTAMP_HEADER]: String(NOW + 1) })).toBe(false);
  });

  it('refuses a missing, repeated or malformed header', () => {
    const h = signed();
    const ts = h[WEBHOOK_TIMESTAMP_HEADER]!;
    const sig = h[WEBHOOK_SIGNATURE_HEADER]!;
    expect(verify({ [WEBHOOK_SIGNATURE_HEADER]: sig })).toBe(false);
    expect(verify({ [WEBHOOK_TIMESTAMP_HEADER]: ts })).toBe(false);
    expect(verify({})).toBe(false);
    expect(verify({ [WEBHOOK_TIMESTAMP_HEADER]: [ts, ts], [WEBHOOK_SIGNATURE_HEADER]: sig })).toBe(false);
    expect(
      verify({
        [WEBHOOK_TIMESTAMP_HEADER]: ts,
        'X-IO-SESSION-TIMESTAMP': ts,
        [WEBHOOK_SIGNATURE_HEADER]: sig,
      }),
    ).toBe(false);
    for (const bad of [
      sig.slice(3),
      `v2=${sig.slice(3)}`,
      `${sig}00`,
      sig.slice(0, -2),
      `v1=${'g'.repeat(64)}`,
      '',
    ])
      expect(verify({ [WEBHOOK_TIMESTAMP_HEADER]: ts, [WEBHOOK_SIGNATURE_HEADER]: bad }), bad).toBe(false);
    for (const badTs of ['', 'abc', '1.767e12', '-1', ` ${ts}x`, '0x1', '99999999999999999999'])
      expect(verify({ [WEBHOOK_TIMESTAMP_HEADER]: badTs, [WEBHOOK_SIGNATURE_HEADER]: sig }), badTs).toBe(
        false,
      );
  });

  it('never throws on junk input', () => {
    const h = signed();
    const junk: unknown[] = [undefined, null, 42, 'x', [], [1, 2], { [WEBHOOK_TIMESTAMP_HEADER]: {} }];
    for (const headers of junk) expect(verify(headers)).toBe(false);
    for (const body of [42, {}, null, [1]]) expect(verify(h, { body: body as never })).toBe(false);
    for (const secret of ['', 42, {}, null]) expect(verify(h, { secret })).toBe(false);
    expect(verify(h, { toleranceMs: Number.NaN })).toBe(false);
    expect(verify(h, { toleranceMs: -1 })).toBe(false);
    expect(verifyWebhook(undefined as never)).toBe(false);
    const throwing = new Proxy(
      {},
      {
        ownKeys: () => {
          throw new Error('boom');
        },
      },
    );
    expect(verify(throwing)).toBe(false);
  });
});

/** The fenced code block of `lang` in the README's Webhooks section. */
function readmeSnippet(lang: string): string {
  const readme = readFileSync(`${REPO_ROOT}README.md`, 'utf8');
  const section = readme.slice(readme.indexOf('### Webhooks'), readme.indexOf('### Schemas'));
  const block = new RegExp(`\`\`\`${lang}\\n([^]*?)\`\`\``).exec(section)?.[1];
  if (!block) throw new Error(`README.md has no \`\`\`${lang} block under ### Webhooks`);
  return block;
}

const has = (...command: string[]): boolean =>
  spawnSync(command[0]!, command.slice(1), { stdio: 'ignore' }).status === 0;

describe('the README snippets', () => {
  it.skipIf(!has('python3', '--version'))('Python: verify_webhook agrees with signWebhook', () => {
    const now = Date.now();
    const cases: [string, Record<string, string>, string, boolean][] = [
      ['signed now', signWebhook({ secret: SECRET, body: BODY, timestamp: now }), BODY, true],
      ['changed body', signWebhook({ secret: SECRET, body: BODY, timestamp: now }), `${BODY} `, false],
      ['stale', signWebhook({ secret: SECRET, body: BODY, timestamp: now - 301_000 }), BODY, false],
      ['future', signWebhook({ secret: SECRET, body: BODY, timestamp: now + 301_000 }), BODY, false],
      [
        'forged',
        {
          ...signWebhook({ secret: SECRET, body: BODY }),
          [WEBHOOK_SIGNATURE_HEADER]: `v1=${'a'.repeat(64)}`,
        },
        BODY,
        false,
      ],
      ['no headers', {}, BODY, false],
    ];
    const program = `${readmeSnippet('python')}
import json, sys
for headers, body in json.load(sys.stdin):
    print(verify_webhook(${JSON.stringify(SECRET)}, body.encode("utf-8"), headers))
`;
    const res = spawnSync('python3', ['-c', program], {
      input: JSON.stringify(cases.map(([, headers, body]) => [headers, body])),
      encoding: 'utf8',
    });
    expect(res.stderr).toBe('');
    expect(res.stdout.trim().split('\n')).toEqual(cases.map(([, , , ok]) => (ok ? 'True' : 'False')));
  });

  it.skipIf(!has('openssl', 'version') || !has('sh', '-c', 'true'))(
    'shell: the openssl line prints the signature header',
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'ios-webhook-'));
      try {
        writeFileSync(join(dir, 'body.json'), BODY);
        const res = spawnSync('sh', ['-c', readmeSnippet('sh')], {
          cwd: dir,
          env: { PATH: process.env.PATH ?? '', TS: String(NOW), WEBHOOK_SECRET: SECRET },
          encoding: 'utf8',
        });
        expect(res.stderr).toBe('');
        expect(res.stdout.trim()).toBe(signed()[WEBHOOK_SIGNATURE_HEADER]);
        expect(
          verify({ [WEBHOOK_TIMESTAMP_HEADER]: String(NOW), [WEBHOOK_SIGNATURE_HEADER]: res.stdout.trim() }),
        ).toBe(true);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
