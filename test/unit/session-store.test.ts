import {
  canonicalJson,
  loadScript,
  nodeIdOf,
  scriptFiles,
  SessionStore,
  type RedisClient,
} from '@io-session/store';
import { describe, expect, it } from 'vitest';

/** A client that records script definitions and fails every command: enough for code that must not reach Redis. */
function offlineClient(): { client: RedisClient; defined: string[] } {
  const defined: string[] = [];
  const handler: ProxyHandler<object> = {
    get(_target, prop) {
      if (prop === 'defineCommand') return (name: string) => defined.push(name);
      if (prop === 'then') return undefined;
      if (typeof prop === 'string' && prop.startsWith('ios') && !defined.includes(prop)) return undefined;
      return () => Promise.reject(new Error(`unexpected Redis call ${String(prop)}`));
    },
  };
  return { client: new Proxy({}, handler) as unknown as RedisClient, defined };
}

describe('SessionStore without Redis', () => {
  it('defines every script once per client', () => {
    const { client, defined } = offlineClient();
    new SessionStore({ redis: client, prefix: 'u', buckets: 4 });
    expect(defined.sort()).toEqual(scriptFiles.map((f) => f.command).sort());
    expect(scriptFiles.length).toBeGreaterThanOrEqual(12);
  });

  it.each([
    'garbage',
    'e30',
    Buffer.from('[99,""]').toString('base64url'),
    Buffer.from('[0,5]').toString('base64url'),
    Buffer.from('null').toString('base64url'),
  ])('rejects the invalid cursor %j before touching Redis', async (cursor) => {
    const store = new SessionStore({ redis: offlineClient().client, prefix: 'u', buckets: 4 });
    await expect(store.reads.getSessions({ cursor })).rejects.toThrow(new RangeError('invalid cursor'));
  });

  it('gives message ids that carry their bucket', () => {
    const store = new SessionStore({ redis: offlineClient().client, prefix: 'u', buckets: 40 });
    for (const token of ['a', 'b', 'carol', 'dave']) {
      const id = store.pushes.newMessageId(token);
      expect(Number.parseInt(id.slice(0, id.indexOf('.')), 36)).toBe(store.keys.bucketOf(token));
    }
    expect(store.pushes.newMessageId('a')).not.toBe(store.pushes.newMessageId('a'));
  });
});

describe('canonicalJson / nodeIdOf', () => {
  it('serialises equal data to equal text whatever the key order', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, 2], c: null } })).toBe(
      canonicalJson({ a: { c: null, d: [1, 2] }, b: 1 }),
    );
    expect(canonicalJson(undefined)).toBe('null');
    expect(canonicalJson('x')).toBe('"x"');
  });

  it('strips the per-start suffix of a node instance', () => {
    expect(nodeIdOf('node-a~1f2e3d4c')).toBe('node-a');
    expect(nodeIdOf('plain')).toBe('plain');
    expect(nodeIdOf('a~b~c')).toBe('a~b');
  });
});

describe('Lua scripts', () => {
  it.each(scriptFiles.map((f) => [f.file, f] as const))(
    '%s inlines its includes exactly once',
    (_name, spec) => {
      const lua = loadScript(spec.file);
      expect(lua).not.toMatch(/^--- @include/m);
      for (const fn of ['nowMs', 'endSession', 'settle']) {
        const definitions = lua.match(new RegExp(`local function ${fn}\\(`, 'g')) ?? [];
        expect(definitions.length).toBeLessThanOrEqual(1);
        if (new RegExp(`\\b${fn}\\(`).test(lua.replace(new RegExp(`local function ${fn}\\(`, 'g'), '')))
          expect(definitions.length).toBe(1);
      }
    },
  );
});

describe('script files', () => {
  it('declare their key count in the file name, as their header lists the keys', () => {
    for (const script of scriptFiles) {
      const lua = loadScript(script.file);
      const header = lua.slice(0, lua.indexOf(']]'));
      const declared = new Set(header.match(/KEYS\[(\d+)\]/g) ?? []);
      expect(declared.size, script.file).toBe(script.keys);
    }
  });
});
