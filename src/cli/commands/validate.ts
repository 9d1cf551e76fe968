import type { Command } from 'commander';
import { NodeRegistry } from '../../engine/graph/registry.ts';
import { BUILTIN_NODES } from '../../nodes/registry.ts';
import { UsageError } from '../errors.ts';
import { InvalidGraphError, loadGraphForCli } from '../graph-input.ts';

export function register(program: Command): void {
  program
    .command('validate')
    .description('Check a graph file and list every problem (exit 0 when valid, 2 when not).')
    .argument('<graph>', 'graph JSON file')
    .option('--json', 'print {"ok", "issues"} as JSON')
    .action(async (path: string, opts: { json?: boolean }) => {
      const registry = new NodeRegistry(BUILTIN_NODES);
      try {
        const { graph } = await loadGraphForCli(path, registry);
        process.stdout.write(opts.json ? `${JSON.stringify({ ok: true, issues: [] })}\n` : `${path}: valid (${graph.nodes.length} nodes, ${graph.edges.length} edges)\n`);
      } catch (err) {
        if (opts.json && err instanceof UsageError) {
          const issues = err instanceof InvalidGraphError ? err.issues : [{ code: 'unreadable', path: '$', message: err.message }];
          process.stdout.write(`${JSON.stringify({ ok: false, issues })}\n`);
          throw new UsageError(err.message);
        }
        throw err;
      }
    });
}
