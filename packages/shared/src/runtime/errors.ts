/** The environment failed the config schema; `issues` names each bad variable. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly issues: readonly string[];
  constructor(issues: readonly string[]) {
    super(`invalid configuration:\n  ${issues.join('\n  ')}`);
    this.issues = issues;
  }
}

/**
 * Redis did not answer (the connection is down, or the command outlived its deadline): a failure
 * on our side, which a caller answers with 503 so that the sender (Vonage) retries later.
 */
export class RedisUnavailableError extends Error {
  override readonly name = 'RedisUnavailableError';
  readonly statusCode = 503;
  readonly code = 'REDIS_UNAVAILABLE';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
