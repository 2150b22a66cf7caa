/** Codes of the `session_error` event a client gets when one of its events is refused. */
export type SessionErrorCode =
  | 'malformed'
  | 'forbidden_token'
  | 'payload_too_large'
  | 'rate_limited'
  | 'unknown_message'
  | 'expired_message'
  | 'slow_client'
  | 'unavailable'
  /** The connection's credential (JWT) expired: the transport is closed next; reconnect with a fresh one. */
  | 'token_expired';

export interface SessionErrorPayload {
  code: SessionErrorCode;
  message: string;
}

export class ClientEventError extends Error {
  constructor(
    readonly code: SessionErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ClientEventError';
  }

  toPayload(): SessionErrorPayload {
    return { code: this.code, message: this.message };
  }
}
