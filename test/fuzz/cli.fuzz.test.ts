/**
 * Fuzz: the CLI's argument layer, in process. Graph files with random content, `--set` strings and
 * argument vectors for the cheap commands. Property: `loadGraphForCli` returns a graph or throws a
 * UsageError; `main` returns 0, 1, 2 or 130 and writes a message for a non-zero code, never throws.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { UsageError } from '../../src/cli/errors.ts';
import { loadGraphForCli } from '../../src/cli/graph-input.ts';
import { main } from '../../src/cli/index.ts';
import { NodeRegistry } from '../../src/engine/graph/registry.ts';
import { BUILTIN_NODES } from '../../src/nodes/registry.ts';
import { graphDoc, id, setString } from './arbitraries.ts';
import { counts, FUZZ_TIMEOUT, fuzz } from './harness.ts';

const registry = new NodeRegistry(BUILTIN_NODES);
const dir = mkdtempSync(join(tmpdir(), 'steer-fuzz-cli-'));
let fileNo = 0;

/** File content: a graph document as JSON (sometimes with a BOM or cut short), or random text. */
const fileText = fc.oneof(
  graphDoc.map((d) => JSON.stringify(d) ?? 'null'),
  fc.tuple(graphDoc, fc.nat()).map(([d, cut]) => {
    const t = JSON.stringify(d) ?? '';
    return t.slice(0, cut % (t.length + 1));
  }),
  graphDoc.map((d) => `\ufeff${JSON.stringify(d)}`),
  fc.string(),
);

/** Flag values: numbers at and past the edges, and junk. */
const flagValue = fc.oneof(
  fc.constantFrom('0', '1', '-1', '999', '1000', '1001', '1e3', '0x10', 'NaN', 'Infinity', '', ' ', 'abc', '18446744073709551616', '7.5', '1.5', 'ddim', 'euler'),
  fc.integer({ min: -5, max: 2000 }).map(String),
  fc.string({ maxLength: 6 }),
);

/**
 * Long commands with random flag values, pointed at a model folder or output that cannot work, so
 * every case ends before any model loads: exit 2 with a message that names a flag the user typed.
 */
const longCommand = fc.oneof(
  fc.record({ steps: flagValue, cfg: flagValue, seed: flagValue, scheduler: flagValue }).map((f) => ({
    args: ['generate', 'a red circle', '--steps', f.steps, '--cfg', f.cfg, '--seed', f.seed, '--scheduler', f.scheduler, '--model', '/no/such/model', '--out', join(dir, 'g.png')],
    flags: ['--steps', '--cfg', '--seed', '--scheduler', '--model'],
  })),
  fc.record({ seeds: flagValue, count: flagValue, steps: flagValue, cfg: flagValue, scheduler: flagValue }).map((f) => ({
    args: ['eval', 'objects', '--seeds', f.seeds, '--count', f.count, '--steps', f.steps, '--cfg', f.cfg, '--scheduler', f.scheduler, '--model', '/no/such/model', '--out', join(dir, 'eval')],
    flags: ['--seeds', '--count', '--steps', '--cfg', '--scheduler', '--model'],
  })),
  fc.record({ steps: flagValue, batch: flagValue, lr: flagValue, until: flagValue }).map((f) => ({
    args: ['train', 'shape-world', '--stage', 'vae', '--steps', f.steps, '--batch', f.batch, '--lr', f.lr, '--until', f.until, '--out', 'README.md/run'],
    flags: ['--steps', '--batch', '--lr', '--until', '--out', 'README.md'],
  })),
);

describe('fuzz: CLI', () => {
  afterAll(() => console.log(`fuzz CLI: ${counts.cases} cases over ${counts.properties} properties`));

  it('loadGraphForCli: a graph or a UsageError for any file and --set strings', async () => {
    await fuzz(
      fc.tuple(fileText, fc.array(setString, { maxLength: 3 })),
      async ([text, sets]) => {
        const file = join(dir, `g${fileNo++}.json`);
        writeFileSync(file, text);
        try {
          const r = await loadGraphForCli(file, registry, sets);
          expect(Array.isArray(r.graph.nodes)).toBe(true);
        } catch (err) {
          if (!(err instanceof UsageError)) throw err;
          expect(err.message).not.toMatch(/undefined undefined|\[object Object\]/);
        }
      },
      { ci: 2000 },
    );
  }, FUZZ_TIMEOUT);

  const argv = fc.oneof(
    fc.tuple(fc.constantFrom('graphs/parse-relations.json', 'graphs/generate.json', 'no/such.json', 'graphs', '/dev/null', 'README.md'), fc.constantFrom([], ['--json'])).map(([g, j]) => ['validate', g, ...j]),
    fc.tuple(fc.string(), fc.constantFrom([], ['--json'])).map(([t, j]) => ['parse', t, ...j]),
    fc.constantFrom(['nodes'], ['nodes', '--json'], ['--help'], [], ['frobnicate'], ['run'], ['eval', 'nosuch'], ['grad', 'no.onnx', '--of', 'y', '--wrt', 'x', '--out', 'o.onnx']),
    fc
      .tuple(fc.array(setString, { maxLength: 2 }), fc.array(id, { maxLength: 2 }), fc.array(fc.constantFrom('--json', '--bogus', '-s', '--out', '--target'), { maxLength: 2 }))
      .map(([sets, targets, extra]) => ['run', 'graphs/parse-relations.json', '--out', join(dir, 'out'), ...sets.flatMap((s) => ['--set', s]), ...targets.flatMap((t) => ['--target', t]), ...extra.flatMap((e) => (e === '--out' ? ['--out', join(dir, 'out-again')] : [e]))]),
    fc.array(fc.string(), { maxLength: 4 }),
  );

  it('long commands with bad flag values stop before loading anything, naming a flag', async () => {
    let written = '';
    const capture = (t: string | Uint8Array) => {
      written += String(t);
      return true;
    };
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(capture);
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(capture);
    try {
      await fuzz(
        longCommand,
        async ({ args, flags }) => {
          written = '';
          const code = await main([...args]);
          expect(code, written).toBe(2);
          expect(flags.some((f) => written.includes(f)), written).toBe(true);
          expect(written).not.toMatch(/\$\.nodes|--set (sample|noise|model)\.|\n\s+at .*\.ts:\d+|undefined undefined/);
        },
        { ci: 600 },
      );
    } finally {
      out.mockRestore();
      err.mockRestore();
    }
  }, FUZZ_TIMEOUT);

  it('main(argv) returns an exit code and never throws', async () => {
    let written = '';
    const capture = (s: string | Uint8Array) => {
      written += String(s);
      return true;
    };
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(capture);
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(capture);
    try {
      await fuzz(
        argv,
        async (args) => {
          written = '';
          const code = await main([...args]);
          expect([0, 1, 2, 130]).toContain(code);
          if (code !== 0) expect(written.length).toBeGreaterThan(0);
          expect(written).not.toMatch(/\n\s+at .*\.ts:\d+/); // no stack traces
        },
        { ci: 1500 },
      );
    } finally {
      out.mockRestore();
      err.mockRestore();
    }
  }, FUZZ_TIMEOUT);
});
