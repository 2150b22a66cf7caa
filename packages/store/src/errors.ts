/** Negative script results, mapped once. */
export enum StoreErrorCode {
  UnknownMessage = -1,
  ForeignMessage = -2,
  ExpiredMessage = -3,
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
};

export function storeError(code: StoreErrorCode): StoreError {
  return new StoreError(code, messages[code]);
}
