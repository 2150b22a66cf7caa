import { randomBytes } from 'node:crypto';

/**
 * A key prefix no other test uses: `t<base36 time><random>`, only letters and digits (KEY_PREFIX must match
 * /^[A-Za-z0-9_.-]+$/), at most 32 characters.
 */
export function uniquePrefix(label = ''): string {
  const clean = label.replace(/[^A-Za-z0-9]/g, '').slice(0, 8);
  const rand = randomBytes(6).readUIntBE(0, 6).toString(36);
  return `t${Date.now().toString(36)}${rand}${clean}`.slice(0, 32);
}
