/**
 * The node API. One file per node type in src/nodes/ calls `defineNode` and is listed in
 * src/nodes/registry.ts. A node file should read like its documentation: sockets, params
 * with their ranges and defaults, and an `execute` that calls engine code.
 */
import type { SocketSpec } from '../shared/catalogue.ts';
import type { Preview, PreviewFrame } from '../shared/events.ts';
import type { SocketType } from '../shared/sockets.ts';
import type { ParamSpec, ParamValues } from './params.ts';
import type { SocketValues } from './values.ts';

export type InputSpec = SocketSpec;
export type OutputSpec = Omit<SocketSpec, 'optional'>;

export interface NodeLogger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** What the executor hands every node while it runs. */
export interface NodeContext {
  /** The node's id in the graph (for messages). */
  nodeId: string;
  /** Fires when the run is cancelled: long loops must check `signal.aborted` (or call throwIfAborted). */
  signal: AbortSignal;
  /** Report progress: `value` of `max` steps done. */
  progress(value: number, max: number, message?: string): void;
  /** Show an intermediate result (image, heatmap, table, bars, curve, text) in the editor; `frame` places it on the step timeline. */
  preview(preview: Preview, frame?: PreviewFrame): void;
  log: NodeLogger;
  /** A folder this node type may keep files in across runs (created on first use). */
  cacheDir(): Promise<string>;
  /** The run's output folder (`steer run --out`), created on first use. */
  outputDir(): Promise<string>;
  /** Folder of the graph file, for resolving relative paths (cwd when the graph has no file). */
  baseDir: string;
  /** The graph document being run (Save nodes embed it in their files). */
  graph: unknown;
}

type InputValues<I extends readonly InputSpec[]> = {
  [S in I[number] as S['id']]: S extends { optional: true }
    ? SocketValues[S['type']] | undefined
    : SocketValues[S['type']];
};

type OutputValues<O extends readonly OutputSpec[]> = {
  [S in O[number] as S['id']]: SocketValues[S['type']];
};

export interface NodeDefinition<
  I extends readonly InputSpec[] = readonly InputSpec[],
  O extends readonly OutputSpec[] = readonly OutputSpec[],
  P extends Record<string, ParamSpec<any>> = Record<string, ParamSpec<any>>,
> {
  /** Stable type id, "category.name" (e.g. "prompt.parse"). Never change it once released. */
  type: string;
  /** Bump when params or sockets change meaning; add a `migrate` step for saved graphs. */
  version: number;
  title: string;
  category: string;
  description: string;
  inputs: I;
  outputs: O;
  params: P;
  /**
   * false for nodes whose output changes between runs with the same inputs; a function when it
   * depends on the params (e.g. a seed param set to "randomize").
   */
  deterministic?: boolean | ((params: ParamValues<P>) => boolean);
  /** Upgrade params saved for an older `version` (called once per version step). */
  migrate?: (fromVersion: number, params: Record<string, unknown>) => Record<string, unknown>;
  execute(
    ctx: NodeContext,
    inputs: InputValues<I>,
    params: ParamValues<P>,
  ): Promise<OutputValues<O>> | OutputValues<O>;
}

/** A node definition with its generics erased, as the registry and executor hold it. */
export type AnyNodeDefinition = Omit<NodeDefinition<readonly InputSpec[], readonly OutputSpec[], Record<string, ParamSpec<any>>>, 'execute' | 'deterministic'> & {
  deterministic?: boolean | ((params: Record<string, unknown>) => boolean);
  execute(ctx: NodeContext, inputs: Record<string, unknown>, params: Record<string, unknown>): Promise<Record<string, unknown>> | Record<string, unknown>;
};

export function defineNode<
  const I extends readonly InputSpec[],
  const O extends readonly OutputSpec[],
  const P extends Record<string, ParamSpec<any>>,
>(def: NodeDefinition<I, O, P>): AnyNodeDefinition {
  return def as unknown as AnyNodeDefinition;
}

export type { SocketType };
