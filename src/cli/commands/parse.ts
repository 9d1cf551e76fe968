import type { Command } from 'commander';
import { parsePrompt } from '../../engine/prompt/parse.ts';
import { promptToJson } from '../../shared/prompt.ts';
import { UsageError } from '../errors.ts';

export function register(program: Command): void {
  program
    .command('parse')
    .description('Parse a prompt into objects (with character spans) and spatial relation triplets.')
    .argument('<text>', 'the prompt, e.g. "a photo of a dog to the right of a teddy bear"')
    .option('--json', 'print {"objects", "relations", "warnings"} as JSON')
    .action((text: string, opts: { json?: boolean }) => {
      if (text.trim() === '') throw new UsageError('the prompt is empty');
      const parsed = parsePrompt(text);
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(promptToJson(parsed))}\n`);
        return;
      }
      process.stdout.write(`objects (${parsed.objects.length}):\n`);
      for (const o of parsed.objects) process.stdout.write(`  ${o.text}  [${o.span[0]}, ${o.span[1]})\n`);
      process.stdout.write(`relations (${parsed.relations.length}):\n`);
      for (const r of parsed.relations) {
        process.stdout.write(`  ${r.subject} --${r.relation}--> ${r.object}${r.directional ? '' : '  (not directional: not steerable)'}\n`);
      }
      for (const w of parsed.warnings) process.stderr.write(`warning: ${w}\n`);
    });
}
