/**
 * Writes the Shape World tokenizer (tokenizer.json + tokenizer_config.json) from the fixed
 * vocabulary in src/engine/model/wordlevel.ts. Deterministic: the same bytes on every run.
 *
 *   npx tsx scripts/make-tokenizer.ts                 # -> resources/models/shape-world/tokenizer/
 *   npx tsx scripts/make-tokenizer.ts --out some/dir  # elsewhere
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildWordLevelTokenizer, jsonFileText } from '../src/engine/model/wordlevel.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export function writeShapeWorldTokenizer(outDir: string): string[] {
  const { tokenizer, config } = buildWordLevelTokenizer();
  mkdirSync(outDir, { recursive: true });
  const files: [string, unknown][] = [
    ['tokenizer.json', tokenizer],
    ['tokenizer_config.json', config],
  ];
  return files.map(([name, value]) => {
    const path = join(outDir, name);
    writeFileSync(path, jsonFileText(value));
    return path;
  });
}

function main(argv: string[]): void {
  const at = argv.indexOf('--out');
  if (at >= 0 && argv[at + 1] === undefined) throw new Error('--out needs a folder');
  const outDir = at >= 0 ? resolve(argv[at + 1]!) : join(root, 'resources/models/shape-world/tokenizer');
  for (const path of writeShapeWorldTokenizer(outDir)) console.log(`wrote ${path}`);
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main(process.argv.slice(2));
