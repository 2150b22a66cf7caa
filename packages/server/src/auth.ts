import { SignJWT, jwtVerify } from 'jose';
import { MAX_TOKEN_LENGTH } from './limits.js';

export type AuthMode = 'none' | 'jwt';

/** Resolves the session token of a handshake, or throws; the message reaches the client as `connect_error`. */
export interface Authenticator {
  (credential: unknown): Promise<string>;
}

export class AuthError extends Error {
  constructor() {
    super('invalid_token');
    this.name = 'AuthError';
  }
}

function validToken(token: unknown): token is string {
  return typeof token === 'string' && token.length > 0 && token.length <= MAX_TOKEN_LENGTH;
}

export function createAuthenticator(mode: AuthMode, secret?: string): Authenticator {
  if (mode === 'none') {
    return async (credential) => {
      if (!validToken(credential)) throw new AuthError();
      return credential;
    };
  }
  if (!secret) throw new Error('AUTH=jwt needs AUTH_SECRET');
  const key = new TextEncoder().encode(secret);
  return async (credential) => {
    if (typeof credential !== 'string' || credential.length > 8192) throw new AuthError();
    try {
      const { payload } = await jwtVerify(credential, key, { algorithms: ['HS256'] });
      if (!validToken(payload.sub)) throw new AuthError();
      return payload.sub;
    } catch {
      throw new AuthError();
    }
  };
}

/** Signs a development JWT whose `sub` is the session token. */
export async function signToken(sub: string, secret: string, expiresIn = '1h'): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setIssuedAt()
    .setExpirationTime(expiresIn)
    .sign(new TextEncoder().encode(secret));
}
