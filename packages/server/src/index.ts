import { from, SessionHandler } from './session-handler.js';

export { from, SessionHandler, type PushOptions } from './session-handler.js';
export { handlerDefaults } from './defaults.js';
export type { SessionHandlerOptions } from './options.js';
export type { LocalSession } from './connections/local-sessions.js';
export type { ConnectionEvent, DeliveredEvent, ClientDataEvent, SessionHandlerEvents } from './events.js';
export { startNode, runNodeCommand, type RunningNode } from './node.js';
export { loadConfig, loadConfigOrExit, configSchema, ConfigError, type Config } from './config.js';
export {
  createAuthenticator,
  authenticatorOf,
  signToken,
  AuthError,
  type Authenticator,
  type AuthOption,
  type Identity,
  type JwtPolicy,
} from './auth.js';
export {
  MAX_TOKEN_LENGTH,
  MAX_MESSAGE_ID_LENGTH,
  MAX_TTL_MS,
  MAX_DEPTH,
  MAX_BATCH,
  MAX_PUSH_RECIPIENTS,
  GROUP_NAME_PATTERN,
} from './limits.js';
export { PushRejectedError, type PushRejection } from './delivery/push-input.js';
export {
  GroupRefusedError,
  type GroupRefusal,
  type GroupPushResult,
  type RecipientResult,
} from './delivery/recipients.js';
export {
  checkPayload,
  type PayloadCheck,
  type PayloadLimits,
  type PayloadProblem,
} from './protocol/payload.js';
export {
  ClientEventError,
  type SessionErrorCode,
  type SessionErrorPayload,
} from './protocol/session-error.js';
export type { PushEnvelope, ServerToClientEvents, ClientToServerEvents } from './protocol/wire.js';
export type { RoutePacket, RoutedPush } from './delivery/route-channel.js';
export { registerApi, httpErrorOptions, type ApiOptions } from './http/api.js';
export { registerStatic, type StaticOptions } from './http/static.js';

/** Seed compatibility: `require('io-session-handler').from(io)` becomes `import handler from '@io-session/server'; handler.from(io)`. */
const seedCompatible = { from, SessionHandler };
export default seedCompatible;
