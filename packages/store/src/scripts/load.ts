import { readdirSync, readFileSync } from 'node:fs';
import type { RedisClient } from '../redis.js';

const luaDir = new URL('../../lua/', import.meta.url);

/** One Lua file: `<name>-<number of keys>.lua`, as BullMQ names its commands. */
export interface ScriptFile {
  /** The file name without the key count, e.g. `connect`. */
  name: string;
  /** How many of the script's arguments are keys (declared once: in the file name). */
  keys: number;
  /** The ioredis command name, e.g. `iosConnect`. */
  command: string;
  /** The file, e.g. `connect-7`. */
  file: string;
}

function commandOf(name: string): string {
  return `ios${name.replace(/(^|-)(\w)/g, (_m, _dash: string, c: string) => c.toUpperCase())}`;
}

/** Every atomic operation: one `lua/<name>-<keys>.lua` file each. */
export const scriptFiles: readonly ScriptFile[] = readdirSync(luaDir)
  .map((f) => /^([a-z-]+)-(\d+)\.lua$/.exec(f))
  .filter((m): m is RegExpExecArray => m !== null)
  .map(([, name = '', keys = '0']) => ({
    name,
    keys: Number(keys),
    command: commandOf(name),
    file: `${name}-${keys}`,
  }));

/** Reads a script and inlines its `--- @include "name"` lines (from lua/includes), as BullMQ does. */
export function loadScript(file: string, seen = new Set<string>()): string {
  const text = readFileSync(new URL(`${file}.lua`, luaDir), 'utf8');
  return text.replace(/^--- @include "([\w-]+)"$/gm, (_line, name: string) => {
    if (seen.has(name)) return '';
    seen.add(name);
    return loadScript(`includes/${name}`, seen);
  });
}

const sources = new Map<string, string>();

/** Defines every script on a client once (ioredis sends EVALSHA and falls back to EVAL on NOSCRIPT). */
export function defineScripts(client: RedisClient): void {
  for (const script of scriptFiles) {
    if (typeof (client as unknown as Record<string, unknown>)[script.command] === 'function') continue;
    let lua = sources.get(script.file);
    if (lua === undefined) {
      lua = loadScript(script.file);
      sources.set(script.file, lua);
    }
    client.defineCommand(script.command, { numberOfKeys: script.keys, lua });
  }
}
