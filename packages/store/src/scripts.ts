import { readFileSync } from 'node:fs';
import type { Result } from 'ioredis';
import type { RedisClient } from './redis.js';

const luaDir = new URL('../lua/', import.meta.url);

/** Each atomic operation, its Lua file and how many of its arguments are keys. */
export const scriptSpecs = {
  iosConnect: { file: 'connect', keys: 7 },
  iosDisconnect: { file: 'disconnect', keys: 3 },
  iosReapConnections: { file: 'reap-connections', keys: 3 },
  iosExpireSessions: { file: 'expire-sessions', keys: 4 },
  iosSetData: { file: 'set-data', keys: 1 },
  iosLogout: { file: 'logout', keys: 7 },
  iosHeartbeat: { file: 'heartbeat', keys: 3 },
  iosClaimDeadNode: { file: 'claim-dead-node', keys: 2 },
  iosPush: { file: 'push', keys: 4 },
  iosPushMany: { file: 'push-many', keys: 1 },
  iosAck: { file: 'ack', keys: 4 },
  iosAckMany: { file: 'ack-many', keys: 2 },
  iosAckByData: { file: 'ack-by-data', keys: 3 },
} as const;

export type ScriptName = keyof typeof scriptSpecs;
type Arg = string | number;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    iosConnect(...args: Arg[]): Result<unknown[], Context>;
    iosDisconnect(...args: Arg[]): Result<number, Context>;
    iosReapConnections(...args: Arg[]): Result<number, Context>;
    iosExpireSessions(...args: Arg[]): Result<string[], Context>;
    iosSetData(...args: Arg[]): Result<number, Context>;
    iosLogout(...args: Arg[]): Result<unknown[], Context>;
    iosHeartbeat(...args: Arg[]): Result<number, Context>;
    iosClaimDeadNode(...args: Arg[]): Result<string | null, Context>;
    iosPush(...args: Arg[]): Result<number[], Context>;
    iosPushMany(...args: Arg[]): Result<number[], Context>;
    iosAck(...args: Arg[]): Result<number[], Context>;
    iosAckMany(...args: Arg[]): Result<unknown[], Context>;
    iosAckByData(...args: Arg[]): Result<unknown[], Context>;
  }
}

/** Reads a script and inlines its `--- @include "name"` lines (from lua/includes), as BullMQ does. */
export function loadScript(file: string, seen = new Set<string>()): string {
  const text = readFileSync(new URL(`${file}.lua`, luaDir), 'utf8');
  return text.replace(/^--- @include "([\w-]+)"$/gm, (_line, name: string) => {
    if (seen.has(name)) return '';
    seen.add(name);
    return loadScript(`includes/${name}`, seen);
  });
}

const sources = new Map<ScriptName, string>();

/** Defines every script on a client once (ioredis sends EVALSHA and falls back to EVAL on NOSCRIPT). */
export function defineScripts(client: RedisClient): void {
  for (const [name, spec] of Object.entries(scriptSpecs) as [
    ScriptName,
    (typeof scriptSpecs)[ScriptName],
  ][]) {
    if (typeof (client as unknown as Record<string, unknown>)[name] === 'function') continue;
    let lua = sources.get(name);
    if (lua === undefined) {
      lua = loadScript(spec.file);
      sources.set(name, lua);
    }
    client.defineCommand(name, { numberOfKeys: spec.keys, lua });
  }
}
