/**
 * Fuzz harness: fast-check properties with a shared budget, replayable seeds and counts.
 *
 *   FUZZ_RUNS=N   cases per property (default: each property's CI share, about a minute in all);
 *                 `npm run fuzz -- --runs N` sets it
 *   FUZZ_SEED=S   replay: the seed fast-check printed with a failure (and FUZZ_PATH=P for its path)
 *
 * `fuzz(name, arbitrary, check)` runs `check` on generated cases; a case fails when `check` throws
 * (a thrown error escaping the code under test, or a broken expectation) or takes longer than
 * `hangMs` (a hang). fast-check shrinks a failure and reports its seed and path.
 */
import fc from 'fast-check';

export const counts = { cases: 0, properties: 0 };

const envRuns = process.env.FUZZ_RUNS ? Number(process.env.FUZZ_RUNS) : undefined;

/** Cases for a property: FUZZ_RUNS when set, else `ci`. */
export function runs(ci: number): number {
  return envRuns !== undefined && Number.isInteger(envRuns) && envRuns > 0 ? envRuns : ci;
}

/** Per-test timeout for vitest: the default minute in CI, an hour for long `npm run fuzz` runs. */
export const FUZZ_TIMEOUT = envRuns !== undefined ? 3_600_000 : 60_000;

export class HangError extends Error {
  constructor(ms: number) {
    super(`no answer within ${ms} ms (a hang)`);
    this.name = 'HangError';
  }
}

/** `p`, or a HangError after `ms`. */
export async function within<T>(ms: number, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new HangError(ms)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

export interface FuzzOptions {
  /** Cases in CI (FUZZ_RUNS overrides). */
  ci: number;
  /** A single case slower than this is a hang. Default 10 s. */
  hangMs?: number;
}

export async function fuzz<T>(arb: fc.Arbitrary<T>, check: (value: T) => Promise<void> | void, opts: FuzzOptions): Promise<void> {
  const hangMs = opts.hangMs ?? 10_000;
  counts.properties++;
  const seed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined;
  await fc.assert(
    fc.asyncProperty(arb, async (value) => {
      counts.cases++;
      await within(hangMs, Promise.resolve().then(() => check(value)));
    }),
    {
      numRuns: runs(opts.ci),
      includeErrorInReport: true,
      ...(seed !== undefined ? { seed, ...(process.env.FUZZ_PATH ? { path: process.env.FUZZ_PATH } : {}) } : {}),
      // fast-check's failure report carries the seed and path; say how to replay with them.
      reporter: (details) => {
        if (!details.failed) return;
        throw new Error(`${fc.defaultReportMessage(details)}\nreplay: FUZZ_SEED=${details.seed} FUZZ_PATH=${details.counterexamplePath ?? ''} npx vitest run test/fuzz`);
      },
    },
  );
}
