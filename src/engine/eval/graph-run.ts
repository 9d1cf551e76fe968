/**
 * Evaluating graphs: the images of `steer eval` and `npm run bench:steer` come from the graphs
 * users run, through the Executor, never from a side path.
 *
 * Which node is what (the rules `--graph FILE` documents):
 * - Image output: a Decode node (`latent.decode`). A graph without one may use the node that
 *   feeds a Save Image node's image input instead.
 * - Branches: a graph with several image outputs has one branch per image output, named by the
 *   text after the first `_` of its node id (`decode_learned` -> `learned`;
 *   graphs/compare-losses.json has `none`, `centroid`, `learned`). A method asked for by name
 *   is the image output whose id ends in `_<method>` (or is `<method>`). A graph with one image
 *   output is one branch, whatever its id.
 * - Prompt input: among the branch's ancestors, a Prompt Parse node (`prompt.parse`) whose text
 *   input comes from a Text node (`primitive.text`: its `text` param is set) or is unconnected
 *   (the Parse node's own `text` param is set). Exactly one per branch.
 * - Seed: every Noise Latent node (`latent.noise`) among the branch's ancestors gets the seed
 *   (and randomize off). At least one.
 * - Cost: Sampler and Latent Optimize nodes among the branch's ancestors; a denoising step is one
 *   UNet forward, two with CFG (guidance > 1, the conditional and unconditional halves of the
 *   batch); each steering-loss evaluation of Latent Optimize (read from its "Loss evaluations per
 *   steered step" table preview, or its log line) is one forward and one backward.
 *
 * One GraphEvaluator (one Executor, one output cache) serves a whole evaluation: the model and
 * classifier nodes keep their signatures, so they load once; the prompt and seed nodes change per
 * image, so everything downstream of them runs again. Branches of one graph share the prompt's
 * encoding and the noise.
 */
import { Executor } from '../graph/executor.ts';
import type { NodeRegistry } from '../graph/registry.ts';
import type { EngineEvent } from '../../shared/events.ts';
import type { GraphEdge, GraphFile, GraphNode } from '../../shared/graph.ts';
import type { ImageRGB } from '../image/image.ts';

/** Graph-shape problems a user can fix (the CLI maps them to exit 2). */
export class EvalGraphError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EvalGraphError';
  }
}

/** A graph run that failed (a node threw): which node and why. */
export class EvalRunError extends Error {
  constructor(readonly nodeId: string, message: string) {
    super(message);
    this.name = 'EvalRunError';
  }
}

export interface EvalBranch {
  /** The method's name in tables ("none", "learned", or the graph's name). */
  method: string;
  /** Node whose `image` output (or the node feeding a Save's image) is judged. */
  imageNode: string;
  imageOutput: string;
  /** The node and param that take the prompt text. */
  prompt: { node: string; param: 'text' };
  noiseNodes: string[];
  /** Sampler / Latent Optimize nodes the image depends on. */
  denoisers: string[];
}

export const DENOISER_TYPES = ['diffusion.sample', 'latent.optimize'];
/** Nodes whose run time is a one-time load, not part of an image's cost. */
const LOAD_TYPES = ['model.load', 'classifier.load'];

function parentsOf(graph: GraphFile): Map<string, GraphEdge[]> {
  const m = new Map<string, GraphEdge[]>(graph.nodes.map((n) => [n.id, []]));
  for (const e of graph.edges) m.get(e.to.node)?.push(e);
  return m;
}

/** The node and every node it depends on. */
export function ancestorsOf(graph: GraphFile, id: string): Set<string> {
  const parents = parentsOf(graph);
  const seen = new Set<string>([id]);
  const stack = [id];
  while (stack.length > 0) {
    for (const e of parents.get(stack.pop()!) ?? []) {
      if (!seen.has(e.from.node)) {
        seen.add(e.from.node);
        stack.push(e.from.node);
      }
    }
  }
  return seen;
}

/** The graph's image outputs: Decode nodes, else the nodes feeding Save Image nodes. */
export function imageOutputs(graph: GraphFile): { node: string; output: string }[] {
  const decodes = graph.nodes.filter((n) => n.type === 'latent.decode').map((n) => ({ node: n.id, output: 'image' }));
  if (decodes.length > 0) return decodes;
  const saves = new Set(graph.nodes.filter((n) => n.type === 'image.save').map((n) => n.id));
  const fed = graph.edges.filter((e) => saves.has(e.to.node) && e.to.input === 'image').map((e) => ({ node: e.from.node, output: e.from.output }));
  return fed.filter((f, i) => fed.findIndex((g) => g.node === f.node && g.output === f.output) === i);
}

/** A branch's name from its image node id: the text after the first `_` (or the whole id). */
export const branchName = (id: string) => (id.includes('_') ? id.slice(id.indexOf('_') + 1) : id);

/** Branch names of a graph (one per image output). */
export function graphBranches(graph: GraphFile): string[] {
  return imageOutputs(graph).map((o) => branchName(o.node));
}

function byId(graph: GraphFile): Map<string, GraphNode> {
  return new Map(graph.nodes.map((n) => [n.id, n]));
}

function promptInput(graph: GraphFile, within: Set<string>, label: string): { node: string; param: 'text' } {
  const nodes = byId(graph);
  const found = new Set<string>();
  for (const id of within) {
    if (nodes.get(id)?.type !== 'prompt.parse') continue;
    const feed = graph.edges.find((e) => e.to.node === id && e.to.input === 'text');
    if (!feed) found.add(id);
    else if (nodes.get(feed.from.node)?.type === 'primitive.text') found.add(feed.from.node);
  }
  if (found.size === 0) {
    throw new EvalGraphError(`${label} has no prompt input: it needs a Prompt Parse node (prompt.parse) whose text comes from a Text node (primitive.text) or from its own Prompt param`);
  }
  if (found.size > 1) throw new EvalGraphError(`${label} has several prompt inputs (${[...found].join(', ')}); an evaluation sets one prompt per image`);
  return { node: [...found][0]!, param: 'text' };
}

/**
 * The branches to evaluate. `methods` undefined: the graph's only image output (named `name`),
 * or an error listing its branches when it has several. `label` names the graph in messages.
 */
export function resolveBranches(graph: GraphFile, label: string, methods: string[] | undefined, name = 'graph'): EvalBranch[] {
  const outputs = imageOutputs(graph);
  if (outputs.length === 0) throw new EvalGraphError(`${label} has no image output: it needs a Decode node (latent.decode) or a Save Image node (image.save) fed an image`);
  const names = outputs.map((o) => branchName(o.node));
  let chosen: { method: string; node: string; output: string }[];
  if (methods === undefined) {
    if (outputs.length > 1) throw new EvalGraphError(`${label} has ${outputs.length} image outputs (${outputs.map((o) => o.node).join(', ')}); choose its branches with --method ${names.join(',')}`);
    chosen = [{ method: name, ...outputs[0]! }];
  } else {
    chosen = methods.map((m) => {
      const hits = outputs.filter((o) => o.node === m || o.node.endsWith(`_${m}`));
      if (hits.length === 0) throw new EvalGraphError(`${label} has no branch "${m}": its branches are ${names.join(', ')} (the Decode node ids ${outputs.map((o) => o.node).join(', ')}, named by the text after the first "_")`);
      if (hits.length > 1) throw new EvalGraphError(`${label}: method "${m}" matches several image outputs (${hits.map((h) => h.node).join(', ')})`);
      return { method: m, ...hits[0]! };
    });
  }
  const nodes = byId(graph);
  return chosen.map((c) => {
    const up = ancestorsOf(graph, c.node);
    const where = `${label} (branch "${c.method}", image node "${c.node}")`;
    const noiseNodes = [...up].filter((id) => nodes.get(id)?.type === 'latent.noise');
    if (noiseNodes.length === 0) throw new EvalGraphError(`${where} has no Noise Latent node (latent.noise) to take the seed`);
    return {
      method: c.method,
      imageNode: c.node,
      imageOutput: c.output,
      prompt: promptInput(graph, up, where),
      noiseNodes,
      denoisers: [...up].filter((id) => DENOISER_TYPES.includes(nodes.get(id)?.type ?? '')),
    };
  });
}

/** What one image cost. */
export interface ImageCost {
  /** Wall time of the run, minus one-time loads (model, classifier). */
  seconds: number;
  unetForward: number;
  unetBackward: number;
  /** Latent Optimize's loss evaluations (each one forward + backward). */
  steeringEvaluations: number;
  /** Per steered denoising step: loss evaluations (the iterations of that step). */
  iterationsPerStep: number[];
  /** The image came from the output cache (the same prompt and seed ran before). */
  cached: boolean;
  /** Warnings the branch's nodes logged. */
  warnings: string[];
}

export interface GraphEvaluatorOptions {
  /**
   * Keep nodes' step-timeline previews (a `timeline` param, as Latent Optimize has). Default off:
   * they are for the editor's scrubbing (per-iteration maps, an x0 decode per step), cost time and
   * memory, and never change the image.
   */
  timeline?: boolean;
  baseDir: string;
  outputDir: string;
  cacheRoot?: string;
  signal?: AbortSignal;
}

/** Reads Latent Optimize's per-step evaluation table (or its log line) from the run's events. */
function steeringFrom(events: EngineEvent[], nodeId: string): { evaluations: number; perStep: number[] } | undefined {
  for (const e of events) {
    if (e.type !== 'node.preview' || e.nodeId !== nodeId || e.preview.kind !== 'table') continue;
    const col = e.preview.columns.indexOf('evaluations');
    if (col < 0 || e.frame) continue;
    const perStep = e.preview.rows.map((r) => Number(r[col]));
    if (perStep.every(Number.isFinite)) return { evaluations: perStep.reduce((a, b) => a + b, 0), perStep };
  }
  for (const e of events) {
    if (e.type !== 'node.log' || e.nodeId !== nodeId) continue;
    const m = /(\d+) loss evaluations/.exec(e.message);
    if (m) return { evaluations: Number(m[1]), perStep: [] };
  }
  return undefined;
}

export class GraphEvaluator {
  readonly executor: Executor;

  constructor(
    readonly registry: NodeRegistry,
    readonly graph: GraphFile,
    readonly o: GraphEvaluatorOptions,
  ) {
    this.executor = new Executor(registry);
  }

  /** The graph with the branch's prompt and seed set. */
  graphFor(branch: EvalBranch, prompt: string, seed: number): GraphFile {
    const noise = new Set(branch.noiseNodes);
    return {
      ...this.graph,
      nodes: this.graph.nodes.map((n) => {
        if (n.id === branch.prompt.node) return { ...n, params: { ...n.params, [branch.prompt.param]: prompt } };
        if (noise.has(n.id)) return { ...n, params: { ...n.params, seed, randomize: false } };
        if (!this.o.timeline && this.registry.get(n.type)?.params.timeline && n.params.timeline !== false) return { ...n, params: { ...n.params, timeline: false } };
        return n;
      }),
    };
  }

  /** Runs the branch for one prompt and seed: its image and what it cost. */
  async image(branch: EvalBranch, prompt: string, seed: number): Promise<{ image: ImageRGB; cost: ImageCost }> {
    const graph = this.graphFor(branch, prompt, seed);
    const events: EngineEvent[] = [];
    const t0 = performance.now();
    const result = await this.executor.run(graph, {
      targets: [branch.imageNode],
      baseDir: this.o.baseDir,
      outputDir: this.o.outputDir,
      ...(this.o.cacheRoot ? { cacheRoot: this.o.cacheRoot } : {}),
      ...(this.o.signal ? { signal: this.o.signal } : {}),
      onEvent: (e) => events.push(e),
    });
    const wall = performance.now() - t0;
    if (result.status === 'cancelled') {
      const reason: unknown = this.o.signal?.reason;
      throw reason instanceof Error ? reason : new DOMException('evaluation cancelled', 'AbortError');
    }
    if (result.status === 'failed') {
      const e = result.error!;
      throw new EvalRunError(result.failedNode ?? '?', `node "${result.failedNode}" failed: ${[e.message, ...e.causes].join(': caused by: ')}`);
    }
    const nodes = byId(graph);
    const executed = new Set(result.executed);
    let loads = 0;
    const warnings: string[] = [];
    for (const e of events) {
      if (e.type === 'node.finished' && LOAD_TYPES.includes(nodes.get(e.nodeId)?.type ?? '')) loads += e.durationMs;
      if (e.type === 'node.log' && e.level === 'warn') warnings.push(`${e.nodeId}: ${e.message}`);
    }
    let unetForward = 0;
    let evaluations = 0;
    const perStep: number[] = [];
    for (const id of branch.denoisers) {
      if (!executed.has(id)) continue;
      const p = nodes.get(id)!.params;
      unetForward += Number(p.steps) * (Number(p.guidance) > 1 ? 2 : 1);
      const s = steeringFrom(events, id);
      if (s) {
        evaluations += s.evaluations;
        perStep.push(...s.perStep);
      }
    }
    const out = result.outputs.get(branch.imageNode)?.[branch.imageOutput] as ImageRGB | undefined;
    if (!out || !ArrayBuffer.isView(out.data) || typeof out.width !== 'number') throw new EvalRunError(branch.imageNode, `node "${branch.imageNode}" gave no image on output "${branch.imageOutput}"`);
    return {
      image: { width: out.width, height: out.height, data: out.data },
      cost: {
        seconds: Math.max(0, wall - loads) / 1000,
        unetForward: unetForward + evaluations,
        unetBackward: evaluations,
        steeringEvaluations: evaluations,
        iterationsPerStep: perStep,
        cached: !executed.has(branch.imageNode),
        warnings,
      },
    };
  }
}

/**
 * A copy of the graph with `from`'s branch cloned as `to`: every node whose id ends in `_<from>`
 * is copied with the suffix `_<to>` (its params merged with `params[node type]`), with the edges
 * among them and from the shared nodes. For benchmarks of schedules as graphs.
 */
export function cloneBranch(graph: GraphFile, from: string, to: string, params: Record<string, Record<string, unknown>> = {}): GraphFile {
  const suffix = `_${from}`;
  const rename = (id: string) => `${id.slice(0, -suffix.length)}_${to}`;
  const mine = new Set(graph.nodes.filter((n) => n.id.endsWith(suffix)).map((n) => n.id));
  if (mine.size === 0) throw new EvalGraphError(`the graph has no branch "${from}" to clone`);
  const taken = new Set(graph.nodes.map((n) => n.id));
  for (const id of mine) if (taken.has(rename(id))) throw new EvalGraphError(`cloning branch "${from}" as "${to}": node "${rename(id)}" exists already`);
  const nodes = graph.nodes
    .filter((n) => mine.has(n.id))
    .map((n) => ({ ...n, id: rename(n.id), params: { ...n.params, ...(params[n.type] ?? {}) }, position: { x: n.position.x, y: n.position.y + 2000 } }));
  const edges = graph.edges
    .filter((e) => mine.has(e.to.node))
    .map((e, k) => ({ ...e, id: `${e.id}_${to}_${k}`, from: { ...e.from, node: mine.has(e.from.node) ? rename(e.from.node) : e.from.node }, to: { ...e.to, node: rename(e.to.node) } }));
  return { ...graph, nodes: [...graph.nodes, ...nodes], edges: [...graph.edges, ...edges] };
}
