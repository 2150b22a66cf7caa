import { describe, expect, it } from 'vitest';
import { ping, rawCommand, startRedis } from '../helpers/redis-server.js';

describe('the private redis-server fixture', () => {
  it('starts, stops, restarts on the same port and can be killed', async () => {
    const redis = await startRedis();
    expect(redis.url).toBe(`redis://127.0.0.1:${redis.port}`);
    expect(await rawCommand(redis.port, 'SET k v')).toBe('+OK');
    await redis.stop();
    expect(await ping(redis.port)).toBe(false);
    await redis.restart();
    expect(await ping(redis.port)).toBe(true);
    expect(await rawCommand(redis.port, 'EXISTS k')).toBe(':0'); // --save "": nothing survives
    await redis.kill();
    expect(await ping(redis.port)).toBe(false);
  });

  it('can forbid CONFIG, as managed Redis services do', async () => {
    const redis = await startRedis({ renameConfig: true });
    expect(await rawCommand(redis.port, 'CONFIG GET notify-keyspace-events')).toMatch(
      /^-ERR unknown command/,
    );
    expect(await rawCommand(redis.port, 'PING')).toBe('+PONG');
  });
});
