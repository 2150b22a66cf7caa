import type { Receipt, SessionEvent } from '@io-session/store';
import { z } from 'zod';
import {
  GROUP_NAME_PATTERN,
  MAX_MESSAGE_ID_LENGTH,
  MAX_PUSH_RECIPIENTS,
  MAX_TOKEN_LENGTH,
  MAX_TTL_MS,
} from './limits.js';

/**
 * The zod schemas of every queue job body and webhook body (CONTRACT.md §6, §10, §11). The code validates with
 * them, the job types are inferred from them, and `npm run schemas` writes them as JSON Schemas to `schemas/`
 * (json-schemas.ts) for producers and webhook receivers in any language.
 */

/** A session token as apps name it (HTTP paths and bodies, queue jobs). */
export const tokenSchema = z
  .string()
  .min(1)
  .max(MAX_TOKEN_LENGTH)
  .describe(`A session token: 1-${MAX_TOKEN_LENGTH} characters.`);

/** A message id as apps name it. */
export const messageIdSchema = z
  .string()
  .min(1)
  .max(MAX_MESSAGE_ID_LENGTH)
  .describe(
    `Message id, 1-${MAX_MESSAGE_ID_LENGTH} characters: pushing the same id again stores the message once. ` +
      'Generated when absent.',
  );

/** A group name (CONTRACT.md §10). */
export const groupNameSchema = z
  .string()
  .regex(GROUP_NAME_PATTERN, 'must be 1-128 characters of A-Z a-z 0-9 . _ : -')
  .describe('A group name: 1-128 characters of A-Z a-z 0-9 . _ : -');

const dataSchema = z.unknown().describe('Any JSON value: what the clients receive.');

const ttlMsSchema = z
  .number()
  .int()
  .positive()
  .max(MAX_TTL_MS)
  .describe('How long the message waits for its session, in ms (at most 30 days). Default MESSAGE_TTL_MS.');

/** One push as apps give it, on every path (HTTP body, `push` queue job, batch job member). */
export const pushMessageSchema = z.object({
  token: tokenSchema,
  data: dataSchema,
  id: messageIdSchema.optional(),
  ttlMs: ttlMsSchema.optional(),
});

const unique = (list: readonly string[]): boolean => new Set(list).size === list.length;

/** The recipients of one multi-recipient push: 1 to 1,000 distinct tokens (CONTRACT.md §10). */
export const tokensSchema = z
  .array(tokenSchema)
  .min(1)
  .max(MAX_PUSH_RECIPIENTS)
  .refine(unique, 'must not name a token twice')
  .meta({
    uniqueItems: true,
    description: `1 to ${MAX_PUSH_RECIPIENTS} distinct session tokens; each gets its own message and receipt.`,
  });

const derivedIdSchema = messageIdSchema.describe(
  'Message id the per-recipient ids are derived from deterministically: a retried job creates nothing twice.',
);

/** The `push` job variants, by the key that tells them apart (strict: a job mixing two forms is refused). */
export const pushJobVariants = {
  token: z.strictObject(pushMessageSchema.shape).meta({ title: 'One message to one session' }),
  tokens: z
    .strictObject({
      tokens: tokensSchema,
      data: dataSchema,
      id: derivedIdSchema.optional(),
      ttlMs: ttlMsSchema.optional(),
    })
    .meta({ title: 'One message to several sessions (CONTRACT.md §10)' }),
  group: z
    .strictObject({
      group: groupNameSchema,
      data: dataSchema,
      id: derivedIdSchema.optional(),
      ttlMs: ttlMsSchema.optional(),
    })
    .meta({ title: 'One message to every member of a group (CONTRACT.md §10)' }),
  messages: z
    .strictObject({ messages: z.array(z.strictObject(pushMessageSchema.shape)).min(1) })
    .meta({ title: 'A batch of messages, each to one session (PushQueue#pushMany)' }),
  broadcast: z
    .strictObject({ broadcast: z.literal(true), data: dataSchema })
    .meta({ title: 'A broadcast to every connected client: at most once, no receipts' }),
};

/** Job data of the `push` queue (CONTRACT.md §6, §10): exactly one of the variants. */
export const pushJobSchema = z
  .xor([
    pushJobVariants.token,
    pushJobVariants.tokens,
    pushJobVariants.group,
    pushJobVariants.messages,
    pushJobVariants.broadcast,
  ])
  .meta({
    title: 'push job',
    description:
      'Data of a job on the BullMQ queue `push` (prefix `{<KEY_PREFIX>}`), which every node consumes. ' +
      'The `tokens` and `group` forms are those of CONTRACT.md §10.',
  });

/** One delivery receipt, as nodes put it on the `receipts` queue and `io-session worker` POSTs it. */
export const receiptSchema = z
  .object({
    id: z.string().min(1).describe('The message id.'),
    token: z.string().min(1).describe('The session the message was pushed to.'),
    data: dataSchema.describe('The pushed data.'),
    deliveredAt: z
      .number()
      .describe('When the first acknowledgement arrived, ms since the epoch (Redis clock).'),
    nodeId: z.string().describe('The node that took the acknowledgement.'),
    socketId: z.string().describe('The connection that acknowledged.'),
    group: groupNameSchema
      .optional()
      .describe('The group, when the message was a group push (CONTRACT.md §10).'),
    traceparent: z
      .string()
      .regex(/^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/)
      .optional()
      .describe(
        'With tracing on (OTEL_EXPORTER_OTLP_ENDPOINT): the W3C traceparent of the acknowledgement, in the push’s trace.',
      ),
  })
  .meta({ title: 'receipt', description: 'Fields may be added: readers ignore the ones they do not know.' });

/** Job data of the `receipts` queue: nodes batch several receipts into one job. */
export const receiptsJobSchema = z.object({ receipts: z.array(receiptSchema).min(1) }).meta({
  title: 'receipts job',
  description: 'Data of a job on the BullMQ queue `receipts`: one or more receipts, each of one message.',
});

/** One session lifecycle event; also the job data of the `session-events` queue (one event per job). */
export const sessionEventSchema = z
  .object({
    type: z.enum(['session.started', 'session.ended']),
    token: z.string().min(1).describe('The session token.'),
    sid: z
      .string()
      .min(1)
      .describe('The session lifetime id: a token that reconnects after its end gets a new one.'),
    id: z.string().describe('Socket id of the first connection (started) or of the last one (ended).'),
    status: z
      .union([z.literal(1), z.literal(0)])
      .describe('1: started, 0: ended (the seed connectionListener).'),
    at: z.number().describe('When, ms since the epoch.'),
    reason: z
      .enum(['grace', 'logout', 'reaped'])
      .optional()
      .describe('Why a session ended: its grace ran out, a logout, or its node died.'),
  })
  .meta({
    title: 'session event',
    description:
      'Data of a job on the BullMQ queue `session-events` (one event per job). Fields may be added: readers ' +
      'ignore the ones they do not know.',
  });

/** The body of a POST to `RECEIPT_WEBHOOK_URL`. */
export const receiptsWebhookBodySchema = z
  .array(receiptSchema)
  .min(1)
  .meta({
    title: 'receipts webhook body',
    description:
      'The JSON body io-session worker POSTs to RECEIPT_WEBHOOK_URL: the receipts of one job. A receipt whose POST ' +
      'was cut by a crash is POSTed again: dedupe by id. With WEBHOOK_SECRET set, verify the signature on the raw body.',
  });

/** The body of a POST to `EVENTS_WEBHOOK_URL`. */
export const sessionEventsWebhookBodySchema = z
  .array(sessionEventSchema)
  .min(1)
  .meta({
    title: 'session events webhook body',
    description:
      'The JSON body io-session worker POSTs to EVENTS_WEBHOOK_URL: one or more session events. An event is one ' +
      'per type and sid: dedupe by type and sid. With WEBHOOK_SECRET set, verify the signature on the raw body.',
  });

/** The issues of a failed parse in one line, each naming its field: `receipts.0.id: Too small: …`. */
export function describeIssues(error: z.ZodError, max = 3): string {
  const lines = error.issues.slice(0, max).map((issue) => {
    const path = issue.path.map(String).join('.');
    return path ? `${path}: ${issue.message}` : issue.message;
  });
  const more = error.issues.length > max ? ` (and ${error.issues.length - max} more)` : '';
  return `${lines.join('; ')}${more}`;
}

/** Picks the `push` job variant by its telling key, so that a refusal names the fields of the form meant. */
export function pushJobVariantOf(data: unknown): (typeof pushJobVariants)[keyof typeof pushJobVariants] {
  if (typeof data === 'object' && data !== null) {
    for (const key of ['broadcast', 'messages', 'tokens', 'group'] as const)
      if (key in data) return pushJobVariants[key];
  }
  return pushJobVariants.token;
}

// Compile-time checks: what the store writes is what the schemas describe, both ways (a drift fails the build).
type Assignable<From, To> = [From] extends [To] ? true : false;
const _storeReceiptFits: Assignable<Receipt, z.infer<typeof receiptSchema>> = true;
const _schemaReceiptFits: Assignable<z.infer<typeof receiptSchema>, Receipt> = true;
const _storeEventFits: Assignable<SessionEvent, z.infer<typeof sessionEventSchema>> = true;
const _schemaEventFits: Assignable<z.infer<typeof sessionEventSchema>, SessionEvent> = true;
