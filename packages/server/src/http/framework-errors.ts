import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { errorBody, sendError, statusOfCode, type ApiErrorCode } from './errors.js';

/**
 * Fastify's own refusals in the contract's shape `{ error: { code, message } }` (CONTRACT.md §7): the ones it
 * answers before routing (`frameworkErrors`) and the ones Node's HTTP parser raises (`clientErrorHandler`).
 * Pass both to `Fastify({ … })`; errors after routing go through `registerApi`'s error handler.
 */
export const httpErrorOptions = {
  frameworkErrors(error: FastifyError, _req: FastifyRequest, reply: FastifyReply): void {
    if (error.code === 'FST_ERR_MAX_PARAM_LENGTH')
      void sendError(reply, 'uri_too_long', 'a path parameter is longer than this server accepts');
    else if (error.code === 'FST_ERR_BAD_URL')
      void sendError(reply, 'bad_request', 'the URL is not validly percent-encoded');
    else void sendError(reply, 'bad_request', error.message);
  },

  /** A request Node could not parse (malformed, headers too large, too slow): answer and close. */
  clientErrorHandler(err: Error & { code?: string }, socket: Socket): void {
    if (err.code === 'ECONNRESET' || socket.destroyed) return;
    let code: ApiErrorCode = 'bad_request';
    let message = 'malformed HTTP request';
    if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') [code, message] = ['request_timeout', 'request timed out'];
    if (err.code === 'HPE_HEADER_OVERFLOW') [code, message] = ['headers_too_large', 'headers too large'];
    const status = statusOfCode(code);
    const body = JSON.stringify(errorBody(code, message));
    if (socket.writable) {
      socket.write(
        `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
          `Content-Type: application/json; charset=utf-8\r\nConnection: close\r\n\r\n${body}`,
      );
    }
    socket.destroy(err);
  },
};
