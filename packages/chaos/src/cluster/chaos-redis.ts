import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProcessGroup, startRedisServer, type RedisServer } from '@io-session/devtools';

/**
 * The run's private redis-server. It keeps its data across restarts (AOF, `appendfsync always`, in memory-backed
 * /dev/shm when there is one): a restart models a Redis that went away and came back with its data, which is
 * what the product promises to survive; a restart that lost the data would lose everything by definition.
 */
export class ChaosRedis {
  #stopped = false;

  private constructor(
    readonly server: RedisServer,
    private readonly dir: string,
  ) {}

  static async start(group: ProcessGroup): Promise<ChaosRedis> {
    const base = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
    const dir = mkdtempSync(join(base, 'io-session-chaos-redis-'));
    const server = await startRedisServer({
      group,
      dir,
      extraArgs: ['--appendonly', 'yes', '--appendfsync', 'always', '--maxmemory-policy', 'noeviction'],
    });
    return new ChaosRedis(server, dir);
  }

  get url(): string {
    return this.server.url;
  }

  get port(): number {
    return this.server.port;
  }

  /** SIGKILL, stay away `downMs`, start again (the AOF brings the data back). */
  async restart(downMs: number, sleep: (ms: number) => Promise<void>): Promise<void> {
    await this.server.kill();
    await sleep(downMs);
    await this.server.restart();
  }

  /** SIGSTOP: connections stay open, nothing is answered (a stalled Redis). */
  stall(): void {
    this.#stopped = this.server.child.proc.kill('SIGSTOP');
  }

  resume(): void {
    if (this.#stopped) this.server.child.proc.kill('SIGCONT');
    this.#stopped = false;
  }

  /** Stops Redis and removes its data (in memory, under /dev/shm). */
  async stop(): Promise<void> {
    this.resume();
    await this.server.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
