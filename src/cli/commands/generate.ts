import type { Command } from 'commander';
import { basename, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NodeRegistry } from '../../engine/graph/registry.ts';
import { BUILTIN_NODES } from '../../nodes/registry.ts';
import { UsageError } from '../errors.ts';
import { flagSets, type CliSet, type FlagBinding } from '../flags.ts';
import { loadGraphForCli } from '../graph-input.ts';
import { preflightGraph, preflightOutput } from '../preflight.ts';
import { runGraphFromCli } from '../run-graph.ts';

/** `steer generate` runs this graph with the options applied as --set overrides. */
export const GENERATE_GRAPH = resolve(dirname(fileURLToPath(import.meta.url)), '../../../graphs/generate.json');

/** The flags that set params of graphs/generate.json. */
const GENERATE_FLAGS: FlagBinding[] = [
  { flag: '--seed', node: 'noise', param: 'seed' },
  { flag: '--steps', node: 'sample', param: 'steps' },
  { flag: '--cfg', node: 'sample', param: 'guidance' },
  { flag: '--scheduler', node: 'sample', param: 'scheduler' },
];

interface GenerateOpts {
  seed: string;
  steps: string;
  cfg: string;
  scheduler: string;
  model?: string;
  out: string;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('generate')
    .description('Generate one image from a prompt with the bundled model (runs graphs/generate.json).')
    .argument('<prompt>', 'e.g. "a photo of a red circle to the left of a blue square"')
    .option('--seed <n>', 'noise seed', '0')
    .option('--steps <n>', 'denoising steps', '50')
    .option('--cfg <x>', 'classifier-free guidance scale', '7.5')
    .option('--scheduler <name>', 'ddim or euler', 'ddim')
    .option('--model <dir>', 'model folder (diffusers ONNX layout; default: the bundled Shape World model)')
    .option('--out <file.png>', 'output file', 'out/generate.png')
    .option('--json', 'print events as JSON lines on stdout')
    .action(async (prompt: string, o: GenerateOpts) => {
      if (prompt.trim() === '') throw new UsageError('the prompt is empty');
      if (!o.out.toLowerCase().endsWith('.png')) throw new UsageError(`--out ${o.out}: the output file must end in .png`);
      const out = resolve(o.out);
      preflightOutput(dirname(out), `--out ${o.out}`);
      const sets: CliSet[] = [
        { assignment: `prompt.text=${prompt}` },
        ...flagSets(GENERATE_FLAGS, { '--seed': o.seed, '--steps': o.steps, '--cfg': o.cfg, '--scheduler': o.scheduler }),
        { assignment: `save.filename=${basename(out)}` },
        ...(o.model ? [{ assignment: `model.path=${resolve(o.model)}`, flag: '--model', text: o.model }] : []),
      ];
      const registry = new NodeRegistry(BUILTIN_NODES);
      const { graph, baseDir } = await loadGraphForCli(GENERATE_GRAPH, registry, sets);
      preflightGraph(graph, baseDir, sets);
      await runGraphFromCli({ graph, registry, baseDir, outputDir: dirname(out), json: o.json });
      if (!o.json) process.stderr.write(`wrote ${out}\n`);
    });
}
