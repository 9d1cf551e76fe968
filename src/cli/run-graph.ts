/**
 * Running a loaded graph from the CLI: reporter, Ctrl+C stops the run (InterruptedError, exit 130,
 * naming the node and step it stopped at), failures -> RunFailedError (exit 1).
 */
import { Executor, type RunResult } from '../engine/graph/executor.ts';
import type { NodeRegistry } from '../engine/graph/registry.ts';
import type { GraphFile } from '../shared/graph.ts';
import { removeStaleTempFiles } from '../engine/util/lock.ts';
import { RunFailedError } from './errors.ts';
import { interruptible } from './interrupt.ts';
import { humanReporter, jsonReporter } from './reporter.ts';

export interface CliRunOptions {
  graph: GraphFile;
  registry: NodeRegistry;
  baseDir: string;
  outputDir: string;
  json?: boolean;
  targets?: string[];
  cacheDir?: string;
}

export async function runGraphFromCli(o: CliRunOptions): Promise<RunResult> {
  const titles = new Map(o.graph.nodes.map((n) => [n.id, n.title ?? o.registry.get(n.type)?.title ?? n.type]));
  const reporter = o.json ? jsonReporter() : humanReporter(titles);
  removeStaleTempFiles(o.outputDir, 0); // what killed runs left half-written in this folder
  const stop = interruptible({ notice: 'interrupted: stopping the run (Ctrl+C again to quit at once)' });
  let current: { node: string; step?: string } | undefined;
  try {
    const result = await new Executor(o.registry).run(o.graph, {
      signal: stop.signal,
      onEvent: (e) => {
        if (e.type === 'node.started') current = { node: e.nodeId };
        if (e.type === 'node.progress' && current?.node === e.nodeId) current.step = `${e.value}/${e.max}`;
        reporter.onEvent(e);
      },
      baseDir: o.baseDir,
      outputDir: o.outputDir,
      ...(o.targets && o.targets.length > 0 ? { targets: o.targets } : {}),
      ...(o.cacheDir ? { cacheRoot: o.cacheDir } : {}),
    });
    reporter.close();
    if (result.status === 'failed') {
      const e = result.error!;
      throw new RunFailedError(`node "${result.failedNode}" failed: ${[e.message, ...e.causes].join(': caused by: ')}`);
    }
    if (result.status === 'cancelled') {
      const where = current ? `node "${current.node}" (${titles.get(current.node)})${current.step ? `, step ${current.step}` : ''}` : 'the start of the run';
      const done = result.executed.length + result.cached.length;
      throw stop.stopped(where, [`${done} of ${o.graph.nodes.length} nodes had finished; files they saved are kept in ${o.outputDir}`]);
    }
    return result;
  } finally {
    reporter.close();
    stop.dispose();
  }
}
