/**
 * What apps give a push, on every path (HTTP body, `push` queue job, batch job member). The schemas are defined
 * once with the other job schemas in @io-session/worker (schemas.ts), which `npm run schemas` publishes as JSON
 * Schemas; the node checks HTTP bodies and jobs with the same ones.
 */
export { tokenSchema, messageIdSchema, pushMessageSchema } from '@io-session/worker';
