/** The RFC 7807 problem fields Vonage returns with every error. */
export interface Problem {
  type?: string;
  title?: string;
  detail?: string;
  instance?: string;
  invalid_parameters?: { name: string; reason: string }[];
}

/** Base class: every error the client throws is one of its subclasses. */
export abstract class MessagesError extends Error {
  abstract readonly retryable: boolean;
}

/** The request was never made: the message failed local validation (address, fields). */
export class MessageValidationError extends MessagesError {
  override readonly name = 'MessageValidationError';
  readonly retryable = false;
  readonly field: string;
  constructor(field: string, message: string) {
    super(`${field}: ${message}`);
    this.field = field;
  }
}

/** The client's own credentials cannot be used (e.g. the private key is not a PKCS#8 PEM). */
export class AuthConfigurationError extends MessagesError {
  override readonly name = 'AuthConfigurationError';
  readonly retryable = false;
}

/** Vonage answered with an error status. */
export class MessagesApiError extends MessagesError {
  override readonly name: string = 'MessagesApiError';
  readonly retryable: boolean = false;
  readonly status: number;
  readonly problem: Problem;
  constructor(status: number, problem: Problem, options?: ErrorOptions) {
    super(`${status} ${problem.title ?? 'error'}${problem.detail ? `: ${problem.detail}` : ''}`, options);
    this.status = status;
    this.problem = problem;
  }
  /** The numbered code from the problem's type URL (`…#1000` → `1000`), if any. */
  get code(): string | undefined {
    return this.problem.type?.match(/#(\d+)$/)?.[1];
  }
}

/** 429: wait, then retry. `retryAfterMs` comes from `Retry-After` when Vonage sends one. */
export class RateLimitedError extends MessagesApiError {
  override readonly name = 'RateLimitedError';
  override readonly retryable = true;
  readonly retryAfterMs: number | undefined;
  constructor(problem: Problem, retryAfterMs: number | undefined) {
    super(429, problem);
    this.retryAfterMs = retryAfterMs;
  }
}

/** 401 or 403: credentials are wrong; retrying will not help. */
export class UnauthorizedError extends MessagesApiError {
  override readonly name = 'UnauthorizedError';
}

/** 402: the account is out of credit. */
export class PaymentRequiredError extends MessagesApiError {
  override readonly name = 'PaymentRequiredError';
}

/** 400/422 and other 4xx: the message itself is wrong (recipient, sender, template…). Permanent. */
export class InvalidRequestError extends MessagesApiError {
  override readonly name = 'InvalidRequestError';
}

/** 5xx: Vonage's side failed; try again later. */
export class ServerError extends MessagesApiError {
  override readonly name = 'ServerError';
  override readonly retryable = true;
}

/** No answer: connection refused or reset, DNS, or timeout. Transient. */
export class NetworkError extends MessagesError {
  override readonly name = 'NetworkError';
  readonly retryable = true;
  readonly code: string | undefined;
  constructor(message: string, code: string | undefined, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

/** True when the same request may succeed later; the caller (the queue) decides whether and when. */
export function isRetryable(err: unknown): boolean {
  return err instanceof MessagesError && err.retryable;
}

/** Parses `Retry-After` (delta seconds or an HTTP date) into milliseconds. */
export function parseRetryAfter(header: string | undefined, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, Math.round(seconds * 1000));
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

export function errorForStatus(status: number, problem: Problem, retryAfter: string | undefined): MessagesApiError {
  if (status === 429) return new RateLimitedError(problem, parseRetryAfter(retryAfter));
  if (status === 401 || status === 403) return new UnauthorizedError(status, problem);
  if (status === 402) return new PaymentRequiredError(status, problem);
  if (status >= 500) return new ServerError(status, problem);
  return new InvalidRequestError(status, problem);
}
