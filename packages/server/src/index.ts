import { from, SessionHandler } from './session-handler.js';

export {
  from,
  SessionHandler,
  handlerDefaults,
  type SessionHandlerOptions,
  type LocalSession,
} from './session-handler.js';
export type { ConnectionEvent, DeliveredEvent, ClientDataEvent, SessionHandlerEvents } from './events.js';
export { startNode, runNodeCommand, type RunningNode } from './node.js';
export { loadConfig, loadConfigOrExit, configSchema, ConfigError, type Config } from './config.js';
export { createAuthenticator, signToken, AuthError, MAX_TOKEN_LENGTH, type Authenticator } from './auth.js';
export {
  ClientEventError,
  type SessionErrorCode,
  type SessionErrorPayload,
} from './protocol/session-error.js';
export type { PushEnvelope, ServerToClientEvents, ClientToServerEvents } from './protocol/wire.js';
export { PushRouter, ROUTER_NAMESPACE, type RoutedCommand } from './push-router.js';

/** Seed compatibility: `require('io-session-handler').from(io)` becomes `import handler from '@io-session/server'; handler.from(io)`. */
const seedCompatible = { from, SessionHandler };
export default seedCompatible;
export { registerApi, type ApiOptions } from './http/api.js';
export { registerStatic, staticDefaults, type StaticOptions } from './http/static.js';
