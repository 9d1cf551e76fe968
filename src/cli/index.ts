/**
 * `steer` command line. Each command lives in src/cli/commands/<name>.ts and exports
 * `register(program)`; add new commands to COMMANDS below (key = the command's name). Only the
 * command being run is loaded, so `steer parse` does not pay for onnxruntime; `steer --help`
 * and unknown commands load them all.
 */
import { Command, CommanderError } from 'commander';
import { InterruptedError, RunFailedError, UsageError } from './errors.ts';

type Register = (program: Command) => void;

const COMMANDS: Record<string, () => Promise<{ register: Register }>> = {
  run: () => import('./commands/run.ts'),
  validate: () => import('./commands/validate.ts'),
  nodes: () => import('./commands/nodes.ts'),
  parse: () => import('./commands/parse.ts'),
  serve: () => import('./commands/serve.ts'),
  generate: () => import('./commands/generate.ts'),
  eval: () => import('./commands/eval.ts'),
  grad: () => import('./commands/grad.ts'),
  train: () => import('./commands/train.ts'),
  dataset: () => import('./commands/dataset.ts'),
  classify: () => import('./commands/classify.ts'),
  report: () => import('./commands/report.ts'),
};

export async function main(argv: string[]): Promise<number> {
  const program = new Command('steer')
    .description('Steer Studio: run and inspect text-to-image steering graphs from the terminal.')
    .exitOverride()
    .showHelpAfterError('(add --help for usage)');
  const name = argv.find((a) => !a.startsWith('-'));
  const wanted = name !== undefined && Object.hasOwn(COMMANDS, name) ? [COMMANDS[name]!] : Object.values(COMMANDS);
  for (const load of wanted) (await load()).register(program);
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
  if (err instanceof InterruptedError) {
    process.stderr.write(`${err.message}\n`);
    for (const line of err.kept) process.stderr.write(`  ${line}\n`);
    return 130;
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
