/**
 * Cases the fuzz suite (test/fuzz) found, kept as plain tests so they stay fixed whatever seed the
 * fuzzer draws next.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { UsageError } from '../../src/cli/errors.ts';
import { loadGraphForCli } from '../../src/cli/graph-input.ts';
import { main } from '../../src/cli/index.ts';
import { NodeRegistry } from '../../src/engine/graph/registry.ts';
import { validateGraph } from '../../src/engine/graph/validate.ts';
import { EngineHost } from '../../src/engine/host.ts';
import { BUILTIN_NODES } from '../../src/nodes/registry.ts';

const registry = new NodeRegistry(BUILTIN_NODES);

describe('fuzz regressions', () => {
  it('a version 0 graph whose node is null is an issue, not a TypeError', () => {
    const r = validateGraph({ version: 0, nodes: { a: null } }, registry);
    expect(r.ok).toBe(false);
    expect(r.issues[0]).toMatchObject({ code: 'migration-failed', path: '$.nodes["a"]' });
  });

  it('--set on a graph with a null node, an object id or an object type is a UsageError in words', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'steer-fuzzreg-'));
    const file = join(dir, 'g.json');
    writeFileSync(file, JSON.stringify({ format: 'steer-graph', version: 1, meta: {}, nodes: [null, { id: {}, type: 'x' }, { id: 'p', type: {} }], edges: [] }));
    for (const set of ['x.text=1', 'p.text=1']) {
      const err = await loadGraphForCli(file, registry, [set]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UsageError);
      expect((err as Error).message).not.toContain('[object Object]');
    }
  });

  it('steer __proto__ is an unknown command (exit 2), not "load is not a function"', async () => {
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(await main(['__proto__'])).toBe(2);
      expect(await main(['constructor'])).toBe(2);
    } finally {
      spy.mockRestore();
    }
  });

  it('writeGraph with a non-string path says a path is needed', async () => {
    const host = new EngineHost({ graphsDir: mkdtempSync(join(tmpdir(), 'steer-fuzzreg-')) });
    const r = await host.handle({ kind: 'request', id: 1, method: 'writeGraph', params: { path: [{}], graph: {} } as never });
    expect(r.ok).toBe(false);
    expect(JSON.stringify(r)).not.toContain('[object Object]');
  });
});
