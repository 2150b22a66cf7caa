import { z } from 'zod';
import {
  pushJobSchema,
  receiptsJobSchema,
  receiptsWebhookBodySchema,
  sessionEventSchema,
  sessionEventsWebhookBodySchema,
} from './schemas.js';

/** The file under `schemas/` of each job body and webhook body, and the zod schema it is generated from. */
export const jsonSchemaSources = {
  'push-job.schema.json': pushJobSchema,
  'receipts-job.schema.json': receiptsJobSchema,
  'session-event-job.schema.json': sessionEventSchema,
  'receipts-webhook.schema.json': receiptsWebhookBodySchema,
  'session-events-webhook.schema.json': sessionEventsWebhookBodySchema,
} as const;

/**
 * The JSON Schemas (draft 2020-12) of every job body and webhook body, by file name, as `npm run schemas` writes
 * them to `schemas/`. They describe what a producer may write (zod's input side): objects the code reads allow
 * fields they do not name (readers ignore them), the `push` job forms allow none.
 */
export function jsonSchemas(): Record<keyof typeof jsonSchemaSources, Record<string, unknown>> {
  const out = {} as Record<keyof typeof jsonSchemaSources, Record<string, unknown>>;
  for (const [file, schema] of Object.entries(jsonSchemaSources) as [
    keyof typeof jsonSchemaSources,
    z.ZodType,
  ][])
    out[file] = z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'input' });
  return out;
}
