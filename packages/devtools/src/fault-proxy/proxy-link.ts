import { connect, type Socket } from 'node:net';
import type RedisParser from 'redis-parser';
import { DelayedWriter } from './delayed-writer.js';
import { commandParser, encodeCommand, isPushModeCommand, replyCounter, type RespCommand } from './resp.js';

/** What a link asks of its proxy: the faults in force now. */
export interface LinkControl {
  latencyMs(): number;
  held(): boolean;
  /** Whether this command's reply is to be dropped (consumes one armed drop when it says yes). */
  takeDrop(command: RespCommand): boolean;
  /** A dropped reply: the command ran, its reply was thrown away and the connection cut. */
  dropped(command: RespCommand): void;
  commandSeen(): void;
  closed(link: ProxyLink): void;
}

/**
 * One client connection and its upstream connection to Redis. Commands are parsed whole and forwarded; the
 * replies are counted, so that a reply can be dropped whole: the drop target waits until every earlier command
 * has its reply (forwarded byte for byte), goes out alone, and once its reply has arrived (the command ran) the
 * reply is thrown away and both connections are cut, as a network failure right after the command would do.
 * Commands that came after it were never forwarded: the client's reconnect resends them with the target.
 */
export class ProxyLink {
  readonly #client: Socket;
  readonly #upstream: Socket;
  readonly #toUpstream: DelayedWriter;
  readonly #toClient: DelayedWriter;
  readonly #commands: RedisParser;
  readonly #replies: RedisParser;
  #sent = 0;
  #answered = 0;
  #pushMode = false;
  #target: RespCommand | undefined;
  readonly #behindTarget: RespCommand[] = [];
  #dropping = false;
  #closed = false;

  constructor(
    client: Socket,
    target: { host: string; port: number },
    private readonly control: LinkControl,
  ) {
    this.#client = client;
    this.#upstream = connect(target.port, target.host);
    this.#toUpstream = new DelayedWriter(this.#upstream, control.latencyMs, control.held);
    this.#toClient = new DelayedWriter(this.#client, control.latencyMs, control.held);
    const fail = (): void => this.close();
    this.#commands = commandParser((command) => this.#onCommand(command), fail);
    this.#replies = replyCounter(() => this.#answered++, fail);
    this.#client.on('data', (chunk: Buffer) => this.#commands.execute(chunk));
    this.#upstream.on('data', (chunk: Buffer) => this.#onServerData(chunk));
    for (const socket of [this.#client, this.#upstream]) {
      socket.on('error', fail);
      socket.on('close', fail);
    }
  }

  /** Delivers what a healed partition held. */
  flush(): void {
    this.#toUpstream.flush();
    this.#toClient.flush();
  }

  /** Cuts both connections now (the client sees its connection reset). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#toUpstream.close();
    this.#toClient.close();
    this.#client.destroy();
    this.#upstream.destroy();
    this.control.closed(this);
  }

  #onCommand(command: RespCommand): void {
    this.control.commandSeen();
    if (this.#pushMode || isPushModeCommand(command)) {
      this.#pushMode = true;
      this.#forward(command);
    } else if (this.#target) {
      this.#behindTarget.push(command);
    } else if (this.control.takeDrop(command)) {
      this.#target = command;
      this.#releaseTarget();
    } else {
      this.#forward(command);
    }
  }

  #forward(command: RespCommand): void {
    this.#sent++;
    this.#toUpstream.write(encodeCommand(command.args));
  }

  /** The drop target goes out once every command before it has been answered. */
  #releaseTarget(): void {
    if (!this.#target || this.#dropping || this.#answered < this.#sent) return;
    this.#dropping = true;
    this.#forward(this.#target);
  }

  #onServerData(chunk: Buffer): void {
    this.#replies.execute(chunk);
    if (!this.#dropping) {
      this.#toClient.write(chunk);
      this.#releaseTarget();
    } else if (this.#answered >= this.#sent && this.#target) {
      this.control.dropped(this.#target);
      this.close();
    }
  }
}
