import type { FastifyReply } from 'fastify';

export type ApiErrorCode =
  | 'bad_request'
  | 'unauthorized'
  | 'not_found'
  | 'payload_too_large'
  | 'uri_too_long'
  | 'unsupported_media_type'
  | 'headers_too_large'
  | 'request_timeout'
  | 'conflict'
  | 'group_full'
  | 'too_many_groups'
  | 'group_too_large'
  | 'unavailable'
  | 'internal';

const statusOf: Record<ApiErrorCode, number> = {
  bad_request: 400,
  unauthorized: 401,
  not_found: 404,
  payload_too_large: 413,
  uri_too_long: 414,
  unsupported_media_type: 415,
  headers_too_large: 431,
  request_timeout: 408,
  conflict: 409,
  group_full: 409,
  too_many_groups: 409,
  group_too_large: 413,
  unavailable: 503,
  internal: 500,
};

export class ApiError extends Error {
  constructor(
    readonly code: ApiErrorCode,
    message: string,
  ) {
    super(message);
  }

  get status(): number {
    return statusOf[this.code];
  }
}

/** The error code of a 4xx status (Fastify's own errors carry only a status). */
export function codeOfStatus(status: number): ApiErrorCode {
  const code = (Object.keys(statusOf) as ApiErrorCode[]).find((c) => statusOf[c] === status);
  return code && status >= 400 && status < 500 ? code : 'bad_request';
}

/** The body of every error answer (CONTRACT.md §7). */
export function errorBody(
  code: ApiErrorCode,
  message: string,
): { error: { code: ApiErrorCode; message: string } } {
  return { error: { code, message } };
}

export function statusOfCode(code: ApiErrorCode): number {
  return statusOf[code];
}

export function sendError(reply: FastifyReply, code: ApiErrorCode, message: string): FastifyReply {
  return reply.code(statusOf[code]).send(errorBody(code, message));
}
