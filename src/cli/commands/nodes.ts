import type { Command } from 'commander';
import { NodeRegistry } from '../../engine/graph/registry.ts';
import { BUILTIN_NODES } from '../../nodes/registry.ts';

export function register(program: Command): void {
  program
    .command('nodes')
    .description('List the node types (the same catalogue the editor uses).')
    .option('--json', 'print the full catalogue as JSON')
    .action((opts: { json?: boolean }) => {
      const catalogue = new NodeRegistry(BUILTIN_NODES).catalogue();
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(catalogue, null, 2)}\n`);
        return;
      }
      const byCategory = new Map<string, typeof catalogue.nodes>();
      for (const n of catalogue.nodes) (byCategory.get(n.category) ?? byCategory.set(n.category, []).get(n.category)!).push(n);
      for (const [category, nodes] of [...byCategory].sort(([a], [b]) => a.localeCompare(b))) {
        process.stdout.write(`${category}\n`);
        for (const n of nodes) {
          const ins = n.inputs.map((s) => `${s.id}:${s.type}${s.optional ? '?' : ''}`).join(', ');
          const outs = n.outputs.map((s) => `${s.id}:${s.type}`).join(', ');
          process.stdout.write(`  ${n.type.padEnd(24)} ${n.title} (v${n.version})  [${ins}] -> [${outs}]\n`);
        }
      }
    });
}
