/**
 * The session token a credential stands for: a JWT's `sub` (read, not verified: the server verifies), or the
 * credential itself. The server wants it in `client_data`.
 */
export function sessionTokenOf(credential: string): string {
  const parts = credential.split('.');
  if (parts.length !== 3) return credential;
  try {
    const b64 = (parts[1] ?? '').replace(/-/g, '+').replace(/_/g, '/');
    const binary = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
    const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
    const payload = JSON.parse(new TextDecoder().decode(bytes)) as { sub?: unknown };
    return typeof payload.sub === 'string' && payload.sub !== '' ? payload.sub : credential;
  } catch {
    return credential;
  }
}
