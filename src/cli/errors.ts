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

/** A long command stopped by Ctrl+C (exit 130): where it stopped and what it kept. */
export class InterruptedError extends Error {
  readonly exitCode = 130;
  constructor(readonly where: string, readonly kept: string[] = []) {
    super(`stopped at ${where}`);
    this.name = 'InterruptedError';
  }
}
