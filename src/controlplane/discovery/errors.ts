/**
 * Moltbook failures: one named class per failure. No message or property ever carries the API key:
 * the client builds every one of them from redacted text.
 */
import { MoltnetError } from '../../common/errors.js';

export class MoltbookError extends MoltnetError {}

/** No API key (the variable is unset or empty), or one no HTTP header can carry; found before any request. */
export class MoltbookApiKeyError extends MoltbookError {
  override readonly exitCode = 2;
}

/** Moltbook answered 401 or 403: the key is wrong, revoked or not allowed. Never retried. */
export class MoltbookAuthError extends MoltbookError {
  constructor(message: string, readonly status: number) {
    super(message);
  }
}

/** Any other HTTP failure: a 4xx, a redirect, or a 429/5xx that outlasted the retries. */
export class MoltbookHttpError extends MoltbookError {
  constructor(
    message: string,
    readonly status: number,
    /** At most 200 characters of the reply, redacted, control characters removed. */
    readonly excerpt: string,
    readonly attempts: number,
  ) {
    super(message);
  }
}

/** A 2xx reply that is not what the API promises: not JSON, over the size bound, or the wrong shape. */
export class MoltbookResponseError extends MoltbookError {}

/** No reply: refused, reset, DNS, or no answer within the timeout; after the retries. */
export class MoltbookNetworkError extends MoltbookError {
  constructor(message: string, readonly timedOut: boolean, readonly attempts: number) {
    super(message);
  }
}
