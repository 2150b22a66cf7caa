/**
 * `@io-session/client`: the io-session SDK for browsers and Node (wire protocol v3, or v2 with
 * `protocol: 2`; CONTRACT §4).
 *
 * @example
 * import { connect } from '@io-session/client';
 *
 * const client = connect('http://127.0.0.1:3000', { token: 'user-42' });
 * client.onPush(async (data) => console.log('push', data)); // acknowledged when it resolves
 * client.setData({ status: 'online' });
 *
 * @packageDocumentation
 */
export { connect, SessionClient } from './session-client.js';
export { clientDefaults, type ConnectOptions, type TokenSource, type Transport } from './options.js';
export type { ProtocolVersion } from './wire.js';
export type {
  ClientError,
  ClientErrorCode,
  ClientState,
  PushHandler,
  PushMeta,
  SessionClientEvents,
  SessionErrorCode,
} from './events.js';
