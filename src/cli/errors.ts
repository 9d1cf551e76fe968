/**
 * Errors that map to the CLI's exit codes: 2 for invalid input or usage, 1 for a run that
 * failed. Anything else thrown is a bug and also exits 1, with its message (and the stack
 * only under STEER_DEBUG=1).
 */
export class UsageError extends Error {
  readonly exitCode = 2;
  constructor(message: string, readonly details?: string[]) {
    super(message);
    this.name = 'UsageError';
  }
}

export class RunFailedError extends Error {
  readonly exitCode = 1;
  constructor(message: string) {
    super(message);
    this.name = 'RunFailedError';
  }
}
