/** Running a loaded graph from the CLI: reporter, Ctrl+C cancels, failures -> RunFailedError (exit 1). */
import { Executor, type RunResult } from '../engine/graph/executor.ts';
import type { NodeRegistry } from '../engine/graph/registry.ts';
import type { GraphFile } from '../shared/graph.ts';
import { RunFailedError } from './errors.ts';
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
  const ac = new AbortController();
  const onSigint = () => ac.abort();
  process.once('SIGINT', onSigint);
  try {
    const result = await new Executor(o.registry).run(o.graph, {
      signal: ac.signal,
      onEvent: (e) => reporter.onEvent(e),
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
    if (result.status === 'cancelled') throw new RunFailedError('run cancelled');
    return result;
  } finally {
    reporter.close();
    process.off('SIGINT', onSigint);
  }
}
