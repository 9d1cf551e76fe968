import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GraphFileError, loadGraph, saveGraph, serializeGraph } from '../../src/engine/graph/file.ts';
import { NodeRegistry } from '../../src/engine/graph/registry.ts';
import { validateGraph } from '../../src/engine/graph/validate.ts';
import { writeFileAtomic } from '../../src/engine/util/fs.ts';
import { BUILTIN_NODES } from '../../src/nodes/registry.ts';

const registry = new NodeRegistry(BUILTIN_NODES);
const graphFiles = readdirSync('graphs').filter((f) => f.endsWith('.json'));

describe('graph files', () => {
  it('graphs/ is not empty', () => expect(graphFiles.length).toBeGreaterThan(0));

  it.each(graphFiles)('graphs/%s is valid and load -> save is byte-stable', async (f) => {
    const file = join('graphs', f);
    const original = readFileSync(file, 'utf8');
    const graph = await loadGraph(file, registry);
    expect(serializeGraph(graph)).toBe(original);
    const dir = await mkdtemp(join(tmpdir(), 'steer-'));
    await saveGraph(join(dir, f), graph);
    expect(await readFile(join(dir, f), 'utf8')).toBe(original);
  });

  it('migrates a v0 fixture to v1 and it then round-trips', async () => {
    const doc = JSON.parse(readFileSync('test/fixtures/graphs/v0-parse.json', 'utf8'));
    const r = validateGraph(doc, registry);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.migratedFrom).toBe(0);
    expect(r.graph).toMatchObject({
      format: 'steer-graph',
      version: 1,
      meta: { name: 'a v0 graph' },
      nodes: [
        { id: 'txt', type: 'primitive.text', typeVersion: 1, position: { x: 0, y: 10 } },
        { id: 'p', type: 'prompt.parse', typeVersion: 1, position: { x: 300, y: 10 } },
      ],
      edges: [{ id: 'e1', from: { node: 'txt', output: 'text' }, to: { node: 'p', input: 'text' } }],
    });
    const text = serializeGraph(r.graph);
    const again = validateGraph(JSON.parse(text), registry);
    expect(again.ok && serializeGraph(again.graph)).toBe(text);
  });

  it('reports a broken v0 link with its path', () => {
    const r = validateGraph({ version: 0, nodes: {}, links: [['a', 'b']] }, registry);
    expect(r.ok).toBe(false);
    expect(r.issues[0]).toMatchObject({ code: 'migration-failed', path: '$.links[0]' });
  });

  it('gives file-named errors for missing files and bad JSON', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'steer-'));
    await expect(loadGraph(join(dir, 'nope.json'), registry)).rejects.toThrow(/nope\.json: no such file/);
    await writeFile(join(dir, 'bad.json'), '{"format": ');
    await expect(loadGraph(join(dir, 'bad.json'), registry)).rejects.toThrow(/bad\.json: not valid JSON/);
    await writeFile(join(dir, 'invalid.json'), JSON.stringify({ format: 'steer-graph', version: 1, meta: {}, nodes: [{ id: 'x', type: 'no.such', typeVersion: 1, params: {}, position: { x: 0, y: 0 } }], edges: [] }));
    const err = await loadGraph(join(dir, 'invalid.json'), registry).catch((e) => e);
    expect(err).toBeInstanceOf(GraphFileError);
    expect((err as GraphFileError).issues[0]!.code).toBe('unknown-node-type');
  });

  it('saves atomically: a write that fails midway leaves the previous file intact', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'steer-'));
    const file = join(dir, 'g.json');
    const graph = await loadGraph(join('graphs', graphFiles[0]!), registry);
    await saveGraph(file, graph);
    const before = await readFile(file, 'utf8');
    // the temp file is opened, then writing it throws (data of the wrong type)
    await expect(writeFileAtomic(file, 42 as unknown as string)).rejects.toThrow();
    // the rename onto a folder fails after the temp file was fully written
    await mkdir(join(dir, 'folder', 'inside'), { recursive: true });
    await expect(writeFileAtomic(join(dir, 'folder'), 'x')).rejects.toThrow();
    expect(await readFile(file, 'utf8')).toBe(before);
    expect(readdirSync(dir).sort()).toEqual(['folder', 'g.json']); // no temp files left behind
  });
});
