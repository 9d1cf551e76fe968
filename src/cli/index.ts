/**
 * `steer` command line. Each command lives in src/cli/commands/<name>.ts and exports
 * `register(program)`; add new commands to COMMANDS below.
 */
import { Command, CommanderError } from 'commander';
import { RunFailedError, UsageError } from './errors.ts';

type Register = (program: Command) => void;

const COMMANDS: (() => Promise<{ register: Register }>)[] = [
  () => import('./commands/run.ts'),
  () => import('./commands/validate.ts'),
  () => import('./commands/nodes.ts'),
  () => import('./commands/parse.ts'),
  () => import('./commands/serve.ts'),
  () => import('./commands/generate.ts'),
  () => import('./commands/eval.ts'),
];

export async function main(argv: string[]): Promise<number> {
  const program = new Command('steer')
    .description('Steer Studio: run and inspect text-to-image steering graphs from the terminal.')
    .exitOverride()
    .showHelpAfterError('(add --help for usage)');
  for (const load of COMMANDS) (await load()).register(program);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    return reportError(err);
  }
}

function reportError(err: unknown): number {
  if (err instanceof CommanderError) {
    // --help and --version exit through here with code 0; usage mistakes get 2.
    return err.exitCode === 0 ? 0 : 2;
  }
  if (err instanceof UsageError) {
    process.stderr.write(`error: ${err.message}\n`);
    for (const line of err.details ?? []) process.stderr.write(`  ${line}\n`);
    return 2;
  }
  if (err instanceof RunFailedError) {
    process.stderr.write(`error: ${err.message}\n`);
    return 1;
  }
  const e = err instanceof Error ? err : new Error(String(err));
  process.stderr.write(`error: ${e.message}\n`);
  if (process.env.STEER_DEBUG === '1' && e.stack) process.stderr.write(`${e.stack}\n`);
  return 1;
}
