import RedisParser from 'redis-parser';

/** Commands after which a connection carries pushes, not one reply per command: never a drop target. */
const PUSH_MODE_COMMANDS = new Set(['SUBSCRIBE', 'PSUBSCRIBE', 'SSUBSCRIBE', 'MONITOR']);

/** One command as the client sent it: its arguments, and its name in upper case. */
export interface RespCommand {
  readonly args: Buffer[];
  readonly name: string;
}

/** Encodes a command as RESP (an array of bulk strings): byte for byte what a RESP client sends. */
export function encodeCommand(args: Buffer[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const arg of args) parts.push(Buffer.from(`$${arg.length}\r\n`), arg, Buffer.from('\r\n'));
  return Buffer.concat(parts);
}

export function isPushModeCommand(command: RespCommand): boolean {
  return PUSH_MODE_COMMANDS.has(command.name);
}

/**
 * Splits a client's byte stream into whole commands (redis-parser, the parser ioredis itself uses). Anything
 * that is not an array of bulk strings is a protocol error: `onError`.
 */
export function commandParser(
  onCommand: (command: RespCommand) => void,
  onError: (err: Error) => void,
): RedisParser {
  return new RedisParser({
    returnBuffers: true,
    returnReply: (reply: unknown) => {
      if (!Array.isArray(reply) || reply.length === 0 || !reply.every((a) => Buffer.isBuffer(a))) {
        onError(new Error('not a RESP command (an array of bulk strings)'));
        return;
      }
      const args = reply as Buffer[];
      onCommand({ args, name: args[0]!.toString('latin1').toUpperCase() });
    },
    returnError: (err) => onError(err),
    returnFatalError: (err) => onError(err),
  });
}

/**
 * Counts whole replies in a server's byte stream. An error reply is a reply too; a broken stream is `onError`.
 */
export function replyCounter(onReply: () => void, onError: (err: Error) => void): RedisParser {
  return new RedisParser({
    returnBuffers: true,
    stringNumbers: true,
    returnReply: () => onReply(),
    returnError: () => onReply(),
    returnFatalError: (err) => onError(err),
  });
}
