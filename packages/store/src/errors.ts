/** Negative script results, mapped once. */
export enum StoreErrorCode {
  UnknownMessage = -1,
  ForeignMessage = -2,
  ExpiredMessage = -3,
  /** A session's budget of receipts by data is spent for now. */
  RateLimited = -5,
  /** `REDIS_WAIT_REPLICAS` replicas did not acknowledge a push in time: it is on the primary only. */
  NotReplicated = -10,
}

export class StoreError extends Error {
  constructor(
    readonly code: StoreErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'StoreError';
  }
}

const messages: Record<StoreErrorCode, string> = {
  [StoreErrorCode.UnknownMessage]: 'no such message',
  [StoreErrorCode.ForeignMessage]: 'the message belongs to another session',
  [StoreErrorCode.ExpiredMessage]: 'the message has expired or its session has ended',
  [StoreErrorCode.RateLimited]: "the session's budget of receipts by data is spent; slow down",
  [StoreErrorCode.NotReplicated]: 'the push did not reach enough replicas in time',
};

export function storeError(code: StoreErrorCode): StoreError {
  return new StoreError(code, messages[code]);
}
