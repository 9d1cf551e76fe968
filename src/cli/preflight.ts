/**
 * Checks a validated graph against what the engine can run, before any model loads: every Load
 * Model folder is readable as a diffusers ONNX folder, and every denoiser (Sampler, Latent
 * Optimize) fed by one asks for a number of steps its scheduler config can run (DDIM "leading"
 * with steps_offset 1 runs at most 999 of 1000), from a Noise Latent of batch 1. Reading a folder
 * costs a few small JSON reads, loading it seconds; a mistake is exit 2 at once, in the terms of
 * the flag the user typed (src/cli/flags.ts).
 */
import { ModelFolderError, readModelFolder, type ModelFolder } from '../engine/model/folder.ts';
import { stepsProblem, type SchedulerName } from '../engine/pipeline/sample.ts';
import { outputFolderProblem } from '../engine/util/fs.ts';
import { resolveModelPath } from '../nodes/model-load.ts';
import type { GraphFile, GraphNode } from '../shared/graph.ts';
import { UsageError } from './errors.ts';
import { flagFor, setLabel, type CliSet } from './flags.ts';

/**
 * A node that runs the denoising loop (the Sampler, Latent Optimize, ...): it has `steps` and
 * `scheduler` params and takes a model.
 */
function isDenoiser(node: GraphNode): boolean {
  return typeof node.params.steps === 'number' && typeof node.params.scheduler === 'string';
}

/** "--steps 1000" when a flag set the param, else the param's JSON path and node. */
function where(graph: GraphFile, node: GraphNode, param: string, sets: readonly CliSet[]): string {
  const set = flagFor(sets, node.id, param);
  return set ? setLabel(set) : `$.nodes[${graph.nodes.indexOf(node)}].params.${param}: node "${node.id}"`;
}

/** A UsageError when `dir` cannot be an output folder (a regular file at or above it). */
export function preflightOutput(dir: string, label: string): void {
  const problem = outputFolderProblem(dir);
  if (problem) throw new UsageError(`${label}: ${problem}`);
}

/** The model folder at `dir`, or a UsageError (exit 2) that starts with `label` ("--model x"). */
export function preflightModel(dir: string, label: string): ModelFolder {
  try {
    return readModelFolder(dir);
  } catch (err) {
    if (err instanceof ModelFolderError) throw new UsageError(`${label}: ${err.message}`);
    throw err;
  }
}

/** A UsageError when the model's scheduler cannot run `steps` steps. */
export function preflightSteps(folder: ModelFolder, scheduler: SchedulerName, steps: number, label: string): void {
  const problem = stepsProblem(folder.scheduler.config, scheduler, steps);
  if (problem) throw new UsageError(`${label}: ${problem}`);
}

export function preflightGraph(graph: GraphFile, baseDir: string, sets: readonly CliSet[] = []): void {
  const folders = new Map<string, ModelFolder>();
  for (const node of graph.nodes) {
    if (node.type === 'model.load') folders.set(node.id, preflightModel(resolveModelPath(String(node.params.path), baseDir), where(graph, node, 'path', sets)));
  }
  for (const node of graph.nodes) {
    if (!isDenoiser(node)) continue;
    const edge = graph.edges.find((e) => e.to.node === node.id && e.to.input === 'model');
    const folder = edge ? folders.get(edge.from.node) : undefined;
    if (folder) preflightSteps(folder, node.params.scheduler as SchedulerName, Number(node.params.steps), where(graph, node, 'steps', sets));
    const noiseEdge = graph.edges.find((e) => e.to.node === node.id && e.to.input === 'latent');
    const noise = noiseEdge ? graph.nodes.find((n) => n.id === noiseEdge.from.node && n.type === 'latent.noise') : undefined;
    if (noise && noise.params.batch !== 1) {
      throw new UsageError(`${where(graph, noise, 'batch', sets)}: batch ${String(noise.params.batch)}: "${node.id}" denoises one latent at a time, so set batch to 1`);
    }
  }
}
