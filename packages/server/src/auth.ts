import { SignJWT, jwtVerify, type JWTPayload } from 'jose';
import { storeDefaults } from '@io-session/store';
import { GROUP_NAME_PATTERN, MAX_TOKEN_LENGTH } from './limits.js';

export type AuthMode = 'none' | 'jwt';

/** Who a handshake is: its session token, and when its credential stops being valid. */
export interface Identity {
  token: string;
  /** When the credential expires (ms since epoch): the connection then gets `session_error token_expired` and is closed. */
  expiresAt?: number;
  /** Groups the session joins at this connection (the JWT claim `groups`), for its lifetime (CONTRACT.md §10). */
  groups?: string[];
}

/**
 * Resolves the session token of a handshake (a plain string, or an {@link Identity} with an expiry), or throws;
 * the message reaches the client as `connect_error`.
 */
export interface Authenticator {
  (credential: unknown): Promise<string | Identity>;
}

/** How JWTs are checked beyond their signature. */
export interface JwtPolicy {
  /**
   * Longest life of a token, in seconds from its `iat` (from the handshake when it has none). Unset: every
   * token needs an `exp`. Set: tokens without `exp` are accepted, and no token lives longer than this.
   */
  maxAgeS?: number | undefined;
}

/** The `auth` option of a handler: no check (the seed's plain token), HS256 JWTs, or your own function. */
export type AuthOption = { mode: 'none' } | ({ mode: 'jwt'; secret: string } & JwtPolicy) | Authenticator;

export class AuthError extends Error {
  constructor() {
    super('invalid_token');
    this.name = 'AuthError';
  }
}

/** A session token as a handshake may name it. */
export function validToken(token: unknown): token is string {
  return typeof token === 'string' && token.length > 0 && token.length <= MAX_TOKEN_LENGTH;
}

/**
 * The authenticator of a mode. With `jwt`: HS256 only, `sub` is the session token, and the token's expiry
 * (`exp`, capped by `policy.maxAgeS`) is returned, so that the connection is closed when it passes.
 */
export function createAuthenticator(mode: AuthMode, secret?: string, policy: JwtPolicy = {}): Authenticator {
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
      const groups = groupsOf(payload);
      return {
        token: payload.sub,
        expiresAt: expiryOf(payload, policy, Date.now()),
        ...(groups ? { groups } : {}),
      };
    } catch {
      throw new AuthError();
    }
  };
}

/** The authenticator an `auth` option stands for. */
export function authenticatorOf(auth: AuthOption): Authenticator {
  if (typeof auth === 'function') return auth;
  return auth.mode === 'jwt'
    ? createAuthenticator('jwt', auth.secret, { maxAgeS: auth.maxAgeS })
    : createAuthenticator('none');
}

/**
 * When a verified JWT stops being valid, in ms (jose has checked `exp` and `nbf` already). A future `iat` counts
 * as now, so that a token cannot extend its own life.
 * @throws AuthError without `exp` when no `maxAgeS` allows that, or when `maxAgeS` has passed since `iat`
 */
export function expiryOf(payload: JWTPayload, policy: JwtPolicy, now: number): number {
  const exp = payload.exp === undefined ? undefined : payload.exp * 1000;
  if (policy.maxAgeS === undefined) {
    if (exp === undefined) throw new AuthError();
    return exp;
  }
  const issued = payload.iat === undefined ? now : Math.min(payload.iat * 1000, now);
  const capped = Math.min(exp ?? Number.POSITIVE_INFINITY, issued + policy.maxAgeS * 1000);
  if (capped <= now) throw new AuthError();
  return capped;
}

/**
 * The JWT claim `groups`: an array of at most `maxGroupsPerSession` group names. @throws AuthError for anything
 * else (a malformed claim is a malformed credential)
 */
export function groupsOf(payload: JWTPayload): string[] | undefined {
  const claim = payload.groups;
  if (claim === undefined) return undefined;
  if (
    !Array.isArray(claim) ||
    claim.length > storeDefaults.maxGroupsPerSession ||
    !claim.every((g) => typeof g === 'string' && GROUP_NAME_PATTERN.test(g))
  )
    throw new AuthError();
  return [...new Set(claim as string[])];
}

/** Signs a development JWT whose `sub` is the session token. */
export async function signToken(
  sub: string,
  secret: string,
  expiresIn = '1h',
  claims: { groups?: string[] } = {},
): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setIssuedAt()
    .setExpirationTime(expiresIn)
    .sign(new TextEncoder().encode(secret));
}
