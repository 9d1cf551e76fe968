/**
 * Ctrl+C for long commands (eval, train, generate, run, dataset builds, classifier training).
 *
 *   const stop = interruptible();          // first SIGINT/SIGTERM aborts stop.signal
 *   try {
 *     for (const item of work) {
 *       await yieldToEventLoop();           // src/engine/util/yield.ts: lets the signal arrive
 *       if (stop.signal.aborted) throw stop.stopped(`image ${i}/${n}`, [`kept ${done} images in ${out}`]);
 *       ...
 *     }
 *   } finally { stop.dispose(); }
 *
 * `stopped(where, kept)` returns an InterruptedError: main prints "stopped at WHERE" and each
 * kept line, and exits 130 (128 + SIGINT), as shells expect of a command stopped by Ctrl+C. A
 * second Ctrl+C exits at once (130) without waiting for the current item.
 */
import { InterruptedError } from './errors.ts';

export interface Interrupt {
  /** Aborted by the first SIGINT or SIGTERM. */
  readonly signal: AbortSignal;
  /** The error to throw once the work has stopped: "stopped at WHERE", then what was kept. */
  stopped(where: string, kept?: string[]): InterruptedError;
  /** Remove the signal handlers (call in `finally`). */
  dispose(): void;
}

export interface InterruptOptions {
  /** Printed to stderr on the first Ctrl+C (default: "interrupted: stopping after the current item"). */
  notice?: string;
  /** Exit on the second signal (default: process.exit(130)); injectable for tests. */
  exitNow?: () => void;
}

export function interruptible(opts: InterruptOptions = {}): Interrupt {
  const ac = new AbortController();
  const onSignal = () => {
    if (ac.signal.aborted) {
      (opts.exitNow ?? (() => process.exit(130)))();
      return;
    }
    process.stderr.write(`\n${opts.notice ?? 'interrupted: stopping after the current item (Ctrl+C again to quit at once)'}\n`);
    ac.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: ac.signal,
    stopped: (where, kept = []) => new InterruptedError(where, kept),
    dispose() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

/** True when `err` is the abort of `signal` (a throwIfAborted, an AbortError or our reason). */
export function isAbort(err: unknown, signal: AbortSignal): boolean {
  return signal.aborted && (err === signal.reason || (err instanceof Error && err.name === 'AbortError'));
}
