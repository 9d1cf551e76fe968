/**
 * `steer grad IN.onnx --of OUTPUT[,OUTPUT...] --wrt NAME[,NAME...] [--keep NAME,...] --out OUT.onnx [--check]`
 *   [--seeds ones|inputs] [--dim NAME=SIZE ...] [--inline] [--samples N] [--tol X]
 *
 * Writes a model computing `of`, the kept outputs and `<name>_grad` for each wrt name (reverse-mode
 * differentiation of sum(of), or with --seeds inputs a vector-Jacobian product with `<of>_seed`
 * inputs; only ai.onnx operators). --check compares the gradients with
 * central finite differences at random inputs and prints the max relative error per gradient.
 */
import type { Command } from 'commander';
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { UsageError, RunFailedError } from '../errors.ts';
import { loadModel, saveModel, ModelFileError } from '../../engine/onnx/model.ts';
import { differentiate, GradientError, UnsupportedOpError } from '../../engine/onnx/autodiff/index.ts';
import { checkGradients, initializerFeeds } from '../../engine/onnx/autodiff/check.ts';

interface GradOptions {
  of: string;
  seeds?: string;
  wrt: string;
  keep?: string;
  out: string;
  check?: boolean;
  dim?: string[];
  inline?: boolean;
  samples?: string;
  tol?: string;
}

const list = (s: string | undefined) => (s ?? '').split(',').map((x) => x.trim()).filter(Boolean);

function parseDims(items: string[] | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const item of items ?? []) {
    const m = /^([^=]+)=(\d+)$/.exec(item);
    if (!m) throw new UsageError(`--dim expects NAME=SIZE, got '${item}'`);
    out[m[1]!] = Number(m[2]);
  }
  return out;
}

function intFlag(flag: string, text: string, min: number): number {
  if (!/^\s*\d+\s*$/.test(text) || Number(text) < min) throw new UsageError(`${flag} must be an integer >= ${min}, got '${text}'`);
  return Number(text);
}

function numberFlag(flag: string, text: string): number {
  const x = Number(text);
  if (text.trim() === '' || !Number.isFinite(x) || x < 0) throw new UsageError(`${flag} must be a number >= 0, got '${text}'`);
  return x;
}

/** Whether two paths name the same file (symlinks and hard links included). */
function samePath(a: string, b: string): boolean {
  if (resolve(a) === resolve(b)) return true;
  try {
    const [sa, sb] = [statSync(a), statSync(b)];
    return sa.dev === sb.dev && sa.ino === sb.ino;
  } catch {
    return false;
  }
}

export function register(program: Command): void {
  program
    .command('grad')
    .description('Differentiate an ONNX model: write a model that also outputs <name>_grad for each --wrt name')
    .argument('<in>', 'input ONNX model (external data files are resolved next to it)')
    .requiredOption('--of <names>', 'comma-separated tensors to differentiate (summed over elements and tensors)')
    .option('--seeds <mode>', "'ones' (gradient of the sum) or 'inputs' (add <of>_seed inputs: vector-Jacobian product)", 'ones')
    .requiredOption('--wrt <names>', 'comma-separated graph inputs or initializers')
    .option('--keep <names>', 'comma-separated tensors to keep as outputs')
    .requiredOption('--out <file>', 'output ONNX model')
    .option('--check', 'finite-difference check at random inputs; prints the max relative error per gradient')
    .option('--dim <name=size...>', 'size of a symbolic dimension for probing and --check (repeatable)')
    .option('--inline', 'inline external data into the output model instead of referencing it')
    .option('--samples <n>', 'coordinates checked per gradient with --check', '5')
    .option('--tol <x>', 'fail --check above this relative error', '0.02')
    .action(async (input: string, opts: GradOptions) => {
      const wrt = list(opts.wrt);
      const keep = list(opts.keep);
      const of = list(opts.of);
      if (wrt.length === 0) throw new UsageError('--wrt needs at least one name');
      if (of.length === 0) throw new UsageError('--of needs at least one name');
      const seeds = opts.seeds ?? 'ones';
      if (seeds !== 'ones' && seeds !== 'inputs') throw new UsageError(`--seeds must be 'ones' or 'inputs', got '${seeds}'`);
      if (seeds === 'inputs' && opts.check) throw new UsageError('--check needs --seeds ones (it checks the gradient of sum(of))');
      const dimSizes = parseDims(opts.dim);
      const samples = intFlag('--samples', opts.samples ?? '5', 1);
      const tol = numberFlag('--tol', opts.tol ?? '0.02');
      if (samePath(input, opts.out)) throw new UsageError(`--out ${opts.out} is the input model; write the gradient model to another file`);
      let loaded;
      try {
        loaded = loadModel(input);
      } catch (err) {
        if (err instanceof ModelFileError) throw new UsageError(err.message);
        throw err;
      }
      let grad;
      try {
        grad = await differentiate(loaded.model, { of, wrt, keep, seeds, dimSizes, baseDir: loaded.baseDir });
      } catch (err) {
        if (err instanceof GradientError) throw new UsageError(err.message);
        if (err instanceof UnsupportedOpError) throw new UsageError(err.message, ['the gradient engine has rules for ai.onnx operators only; see src/engine/onnx/autodiff/rules/']);
        throw err;
      }
      saveModel(grad, opts.out, { baseDir: loaded.baseDir, externalData: opts.inline ? 'inline' : 'keep' });
      process.stdout.write(`wrote ${opts.out}: outputs ${grad.graph!.output.map((o) => o.name).join(', ')}\n`);
      if (opts.check) {
        const results = await checkGradients(opts.out, loaded.model, {
          of,
          wrt,
          dimSizes,
          initialValues: initializerFeeds(loaded.model, wrt, loaded.baseDir),
          samples,
        });
        const w = Math.max(8, ...results.map((r) => r.name.length + 5));
        process.stdout.write(`${'gradient'.padEnd(w)}  max rel. error  coords\n`);
        for (const r of results) process.stdout.write(`${`${r.name}_grad`.padEnd(w)}  ${r.maxRelError.toExponential(2).padStart(14)}  ${r.checked}\n`);
        const bad = results.filter((r) => !(r.maxRelError <= tol));
        if (bad.length) throw new RunFailedError(`gradient check failed for ${bad.map((r) => r.name).join(', ')} (tolerance ${tol})`);
      }
    });
}
