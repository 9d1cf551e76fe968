import type { Command } from 'commander';
import { basename, extname, resolve } from 'node:path';
import { NodeRegistry } from '../../engine/graph/registry.ts';
import { BUILTIN_NODES } from '../../nodes/registry.ts';
import { UsageError } from '../errors.ts';
import { loadGraphForCli } from '../graph-input.ts';
import { preflightGraph, preflightOutput } from '../preflight.ts';
import { runGraphFromCli } from '../run-graph.ts';

interface RunOpts {
  out?: string;
  set: string[];
  target: string[];
  json?: boolean;
  cacheDir?: string;
}

export const collect = (value: string, previous: string[]) => [...previous, value];

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
      preflightGraph(graph, baseDir);
      const outputDir = resolve(opts.out ?? `out/${basename(path, extname(path))}`);
      preflightOutput(outputDir, `--out ${opts.out ?? outputDir}`);
      await runGraphFromCli({ graph, registry, baseDir, outputDir, json: opts.json, targets: opts.target, cacheDir: opts.cacheDir });
      if (!opts.json) process.stderr.write(`outputs in ${outputDir}\n`);
    });
}
