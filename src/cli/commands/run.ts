import type { Command } from 'commander';
import { basename, extname, resolve } from 'node:path';
import { Executor } from '../../engine/graph/executor.ts';
import { NodeRegistry } from '../../engine/graph/registry.ts';
import { BUILTIN_NODES } from '../../nodes/registry.ts';
import { RunFailedError, UsageError } from '../errors.ts';
import { loadGraphForCli } from '../graph-input.ts';
import { humanReporter, jsonReporter } from '../reporter.ts';

interface RunOpts {
  out?: string;
  set: string[];
  target: string[];
  json?: boolean;
  cacheDir?: string;
}

const collect = (value: string, previous: string[]) => [...previous, value];

export function register(program: Command): void {
  program
    .command('run')
    .description('Run a graph file. Exit 0 on success, 1 when a node fails, 2 for an invalid graph or usage.')
    .argument('<graph>', 'graph JSON file')
    .option('-o, --out <dir>', 'output folder for Save nodes (default: out/<graph name>)')
    .option('-s, --set <NODE_ID.PARAM=VALUE>', 'override a param (repeatable)', collect, [])
    .option('-t, --target <NODE_ID>', 'run only what this node needs (repeatable)', collect, [])
    .option('--json', 'print events as JSON lines on stdout')
    .option('--cache-dir <dir>', 'folder for node caches (default: ~/.cache/steer-studio)')
    .action(async (path: string, opts: RunOpts) => {
      const registry = new NodeRegistry(BUILTIN_NODES);
      const { graph, baseDir } = await loadGraphForCli(path, registry, opts.set);
      const known = new Set(graph.nodes.map((n) => n.id));
      for (const t of opts.target) if (!known.has(t)) throw new UsageError(`--target ${t}: the graph has no node "${t}"`);
      const outputDir = resolve(opts.out ?? `out/${basename(path, extname(path))}`);
      const titles = new Map(graph.nodes.map((n) => [n.id, n.title ?? registry.get(n.type)?.title ?? n.type]));
      const reporter = opts.json ? jsonReporter() : humanReporter(titles);
      const ac = new AbortController();
      const onSigint = () => ac.abort();
      process.once('SIGINT', onSigint);
      try {
        const result = await new Executor(registry).run(graph, {
          signal: ac.signal,
          onEvent: (e) => reporter.onEvent(e),
          baseDir,
          outputDir,
          ...(opts.target.length > 0 ? { targets: opts.target } : {}),
          ...(opts.cacheDir ? { cacheRoot: opts.cacheDir } : {}),
        });
        reporter.close();
        if (result.status === 'failed') {
          const e = result.error!;
          throw new RunFailedError(`node "${result.failedNode}" failed: ${[e.message, ...e.causes].join(': caused by: ')}`);
        }
        if (result.status === 'cancelled') throw new RunFailedError('run cancelled');
        if (!opts.json) process.stderr.write(`outputs in ${outputDir}\n`);
      } finally {
        reporter.close();
        process.off('SIGINT', onSigint);
      }
    });
}
