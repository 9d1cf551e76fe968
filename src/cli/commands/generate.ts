import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NodeRegistry } from '../../engine/graph/registry.ts';
import { BUILTIN_NODES } from '../../nodes/registry.ts';
import { parsePrompt } from '../../engine/prompt/parse.ts';
import { listClassifiers, sha256File } from '../../engine/steer/classifier.ts';
import { CLASSIFIERS_DIR, DEFAULT_MODEL_DIR } from '../steer-args.ts';
import { UsageError } from '../errors.ts';
import { flagSets, type CliSet, type FlagBinding } from '../flags.ts';
import { loadGraphForCli } from '../graph-input.ts';
import { preflightGraph, preflightOutput } from '../preflight.ts';
import { runGraphFromCli } from '../run-graph.ts';

/** `steer generate` runs this graph with the options applied as --set overrides. */
export const GENERATE_GRAPH = resolve(dirname(fileURLToPath(import.meta.url)), '../../../graphs/generate.json');

/** `steer generate --steer centroid|learned` runs one branch of this graph. */
export const COMPARE_GRAPH = resolve(dirname(fileURLToPath(import.meta.url)), '../../../graphs/compare-losses.json');

type SteerMethod = 'none' | 'centroid' | 'learned';

/** The flags that set params of a compare-losses.json branch. */
const steerFlags = (m: SteerMethod): FlagBinding[] => {
  const sampler = m === 'none' ? 'sample_none' : `optimize_${m}`;
  return [
    { flag: '--seed', node: 'noise', param: 'seed' },
    { flag: '--steps', node: sampler, param: 'steps' },
    { flag: '--cfg', node: sampler, param: 'guidance' },
    { flag: '--scheduler', node: sampler, param: 'scheduler' },
  ];
};

/**
 * --steer's default: learned when the prompt states a steerable relation and an installed
 * classifier was trained on this model's UNet, else none.
 */
function defaultMethod(prompt: string, modelDir: string): SteerMethod {
  const parsed = parsePrompt(prompt);
  if (!parsed.relations.some((r) => r.directional)) return 'none';
  const unet = join(modelDir, 'unet', 'model.onnx');
  if (!existsSync(unet)) return 'none';
  const sha = sha256File(unet);
  return listClassifiers(CLASSIFIERS_DIR).some((c) => c.info.model.unetSha256 === sha) ? 'learned' : 'none';
}

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
  steer?: string;
  classifier?: string;
}

export function register(program: Command): void {
  program
    .command('generate')
    .description('Generate one image from a prompt with the bundled model (graphs/generate.json; steered: a branch of graphs/compare-losses.json).')
    .argument('<prompt>', 'e.g. "a photo of a red circle to the left of a blue square"')
    .option('--seed <n>', 'noise seed', '0')
    .option('--steps <n>', 'denoising steps', '50')
    .option('--cfg <x>', 'classifier-free guidance scale', '7.5')
    .option('--scheduler <name>', 'ddim or euler', 'ddim')
    .option('--model <dir>', 'model folder (diffusers ONNX layout; default: the bundled Shape World model)')
    .option('--steer <method>', 'learned (the relation classifier as the loss), centroid (handcrafted attention-centroid loss) or none; default: learned when the prompt has a steerable relation and an installed classifier fits the model, else none')
    .option('--classifier <dir>', 'relation classifier folder for --steer learned (default: resources/classifiers/shape-world-relations)')
    .option('--out <file.png>', 'output file', 'out/generate.png')
    .option('--json', 'print events as JSON lines on stdout')
    .action(async (prompt: string, o: GenerateOpts) => {
      if (prompt.trim() === '') throw new UsageError('the prompt is empty');
      if (!o.out.toLowerCase().endsWith('.png')) throw new UsageError(`--out ${o.out}: the output file must end in .png`);
      const out = resolve(o.out);
      preflightOutput(dirname(out), `--out ${o.out}`);
      const method = (o.steer ?? defaultMethod(prompt, resolve(o.model ?? DEFAULT_MODEL_DIR))) as SteerMethod;
      if (!['none', 'centroid', 'learned'].includes(method)) throw new UsageError(`--steer must be learned, centroid or none, got '${o.steer}'`);
      if (o.classifier !== undefined && method !== 'learned') throw new UsageError(`--classifier is for --steer learned (this run steers: ${method})`);
      if (o.classifier !== undefined && !existsSync(join(resolve(o.classifier), 'classifier.json'))) throw new UsageError(`--classifier ${o.classifier}: no classifier.json in that folder (installed ones: ${listClassifiers(CLASSIFIERS_DIR).map((c) => c.dir).join(', ') || 'none'})`);
      // A prompt with a relation runs a compare-losses branch (unsteered too), so its relation is checked.
      const steered = method !== 'none' || parsePrompt(prompt).relations.some((r) => r.directional);
      const values = { '--seed': o.seed, '--steps': o.steps, '--cfg': o.cfg, '--scheduler': o.scheduler };
      const sets: CliSet[] = [
        { assignment: `prompt.text=${prompt}` },
        ...flagSets(steered ? steerFlags(method) : GENERATE_FLAGS, values),
        { assignment: `${steered ? `save_${method}` : 'save'}.filename=${basename(out)}` },
        ...(o.model ? [{ assignment: `model.path=${resolve(o.model)}`, flag: '--model', text: o.model }] : []),
        ...(o.classifier ? [{ assignment: `classifier.path=${resolve(o.classifier)}`, flag: '--classifier', text: o.classifier }] : []),
        // the step timeline's previews are for the editor; the CLI shows none of them
        ...(steered && method !== 'none' ? [{ assignment: `optimize_${method}.timeline=false` }] : []),
      ];
      const registry = new NodeRegistry(BUILTIN_NODES);
      const { graph, baseDir } = await loadGraphForCli(steered ? COMPARE_GRAPH : GENERATE_GRAPH, registry, sets);
      preflightGraph(graph, baseDir, sets);
      if (!o.json) process.stderr.write(`steering: ${method}\n`);
      await runGraphFromCli({ graph, registry, baseDir, outputDir: dirname(out), json: o.json, ...(steered ? { targets: [`save_${method}`, `check_${method}`] } : {}) });
      if (!o.json) process.stderr.write(`wrote ${out}\n`);
    });
}
